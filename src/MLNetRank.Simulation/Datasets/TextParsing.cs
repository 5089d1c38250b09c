using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.IO.Compression;

namespace MLNetRank.Simulation.Datasets
{
    /// <summary>Line reading and field parsing shared by the loaders; every error names the file, the line and the problem.</summary>
    internal static class TextParsing
    {
        public static void RequireFile(string path, string what)
        {
            if (string.IsNullOrEmpty(path))
                throw new ArgumentException($"The path of the {what} file must be given.", nameof(path));
            if (!File.Exists(path))
                throw new FileNotFoundException($"The {what} file was not found: '{Path.GetFullPath(path)}'.", path);
        }

        /// <summary>Lines of a text file, transparently decompressing gzip (detected by its magic bytes).</summary>
        public static IEnumerable<string> ReadLines(string path)
        {
            using var file = File.OpenRead(path);
            Stream stream = file;
            int b1 = file.ReadByte(), b2 = file.ReadByte();
            file.Position = 0;
            if (b1 == 0x1f && b2 == 0x8b)
                stream = new GZipStream(file, CompressionMode.Decompress);
            using var reader = new StreamReader(stream);
            string? line;
            while ((line = reader.ReadLine()) is not null)
                yield return line;
        }

        public static FormatException Error(string path, long line, string problem)
            => new FormatException($"{Path.GetFileName(path)} (line {line}): {problem} [file: {path}]");

        public static float Float(string path, long line, string column, string text)
        {
            if (!float.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) || !float.IsFinite(v))
                throw Error(path, line, $"column '{column}' has '{Trunc(text)}', expected a finite number.");
            return v;
        }

        public static uint UInt(string path, long line, string column, string text)
        {
            if (!uint.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v))
            {
                // ids written as floats ("3.0") are accepted when integral
                if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && d >= 0 && d <= uint.MaxValue && Math.Floor(d) == d)
                    return (uint)d;
                throw Error(path, line, $"column '{column}' has '{Trunc(text)}', expected a non-negative integer id.");
            }
            return v;
        }

        public static int Int(string path, long line, string column, string text)
        {
            if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var v))
                throw Error(path, line, $"column '{column}' has '{Trunc(text)}', expected an integer.");
            return v;
        }

        public static bool Binary(string path, long line, string column, string text)
        {
            var t = text.Trim();
            if (t is "1" or "1.0")
                return true;
            if (t is "0" or "0.0")
                return false;
            throw Error(path, line, $"column '{column}' has '{Trunc(text)}', expected 0 or 1.");
        }

        public static string Trunc(string s) => s.Length <= 40 ? s : s.Substring(0, 40) + "...";
    }
}
