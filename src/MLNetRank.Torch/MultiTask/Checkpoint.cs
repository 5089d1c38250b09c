using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using MLNetRank.Common;

namespace MLNetRank.Torch.MultiTask
{
    /// <summary>
    /// A training checkpoint as one file, <c>{prefix}.checkpoint</c>, written atomically (<see cref="AtomicFile"/>): a magic
    /// header, a JSON manifest (the run's fingerprint, its state, each section's length and SHA-256) and the sections
    /// (network weights, optimizer state, best-epoch weights). A reader sees the previous epoch's checkpoint or the new one,
    /// never a mix; a damaged file (bit flip, truncation) fails its digests and is refused.
    /// </summary>
    internal static class Checkpoint
    {
        public const string Extension = ".checkpoint";
        private static readonly byte[] Magic = Encoding.ASCII.GetBytes("MLNRCKP1");

        /// <summary>Files of the former three-file format (written in place, could be torn across epochs).</summary>
        public static readonly string[] LegacyExtensions = { ".model", ".optimizer", ".state", ".best" };

        public static string PathOf(string prefix) => prefix + Extension;

        internal sealed class Manifest
        {
            public int Version { get; set; } = 1;
            public Dictionary<string, string> Fingerprint { get; set; } = new();
            public string StateJson { get; set; } = "";
            public List<Section> Sections { get; set; } = new();
        }

        internal sealed class Section
        {
            public string Name { get; set; } = "";
            public long Length { get; set; }
            public string Sha256 { get; set; } = "";
        }

        public static void Write(string prefix, IReadOnlyDictionary<string, string> fingerprint, string stateJson, IReadOnlyList<(string Name, byte[] Bytes)> sections)
        {
            var manifest = new Manifest
            {
                Fingerprint = new Dictionary<string, string>(fingerprint),
                StateJson = stateJson,
                Sections = sections.Select(s => new Section { Name = s.Name, Length = s.Bytes.Length, Sha256 = Convert.ToHexString(SHA256.HashData(s.Bytes)) }).ToList(),
            };
            var json = JsonSerializer.SerializeToUtf8Bytes(manifest);
            AtomicFile.Write(PathOf(prefix), stream =>
            {
                using var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
                w.Write(Magic);
                w.Write(json.Length);
                w.Write(json);
                foreach (var s in sections)
                    w.Write(s.Bytes);
            });
        }

        /// <summary>Reads and verifies a checkpoint: <see cref="InvalidDataException"/> when it is not one, truncated or damaged.</summary>
        public static (Manifest Manifest, Dictionary<string, byte[]> Sections) Read(string prefix)
        {
            string path = PathOf(prefix);
            var bytes = File.ReadAllBytes(path);
            string Damaged(string why) => $"Checkpoint '{path}' is damaged or incomplete ({why}); it cannot be resumed from. Delete it to train from the start.";
            if (bytes.Length < Magic.Length + 4 || !bytes.AsSpan(0, Magic.Length).SequenceEqual(Magic))
                throw new InvalidDataException(Damaged("it does not start with an MLNetRank checkpoint header"));
            int jsonLength = BitConverter.ToInt32(bytes, Magic.Length);
            int at = Magic.Length + 4;
            if (jsonLength <= 0 || jsonLength > bytes.Length - at)
                throw new InvalidDataException(Damaged($"manifest length {jsonLength} does not fit in the file's {bytes.Length} bytes"));
            Manifest? manifest;
            try
            {
                manifest = JsonSerializer.Deserialize<Manifest>(bytes.AsSpan(at, jsonLength));
            }
            catch (JsonException e)
            {
                throw new InvalidDataException(Damaged("its manifest is not valid: " + e.Message), e);
            }
            if (manifest is null || manifest.Version != 1)
                throw new InvalidDataException(Damaged($"manifest version {manifest?.Version.ToString() ?? "missing"}, expected 1"));
            at += jsonLength;
            var sections = new Dictionary<string, byte[]>();
            foreach (var s in manifest.Sections)
            {
                if (s.Length < 0 || s.Length > bytes.Length - at)
                    throw new InvalidDataException(Damaged($"section '{s.Name}' of {s.Length} bytes runs past the end of the file"));
                var data = bytes.AsSpan(at, (int)s.Length).ToArray();
                if (Convert.ToHexString(SHA256.HashData(data)) != s.Sha256)
                    throw new InvalidDataException(Damaged($"section '{s.Name}' does not match its SHA-256 digest"));
                sections[s.Name] = data;
                at += (int)s.Length;
            }
            if (at != bytes.Length)
                throw new InvalidDataException(Damaged($"{bytes.Length - at} bytes after the last section"));
            return (manifest, sections);
        }

        /// <summary>Null when <paramref name="saved"/> equals <paramref name="now"/>, else the differing entries, readable.</summary>
        public static string? Difference(IReadOnlyDictionary<string, string> saved, IReadOnlyDictionary<string, string> now)
        {
            var keys = saved.Keys.Union(now.Keys).OrderBy(k => k, StringComparer.Ordinal);
            var diffs = new List<string>();
            foreach (var k in keys)
            {
                saved.TryGetValue(k, out var a);
                now.TryGetValue(k, out var b);
                if (a != b)
                {
                    int at = FirstDifference(a, b);
                    diffs.Add($"{k}: {Short(a, at)} in the checkpoint, {Short(b, at)} now");
                }
            }
            return diffs.Count == 0 ? null : string.Join("; ", diffs);
        }

        private static int FirstDifference(string? a, string? b)
        {
            if (a is null || b is null)
                return 0;
            int n = Math.Min(a.Length, b.Length), i = 0;
            while (i < n && a[i] == b[i])
                i++;
            return i;
        }

        /// <summary>A value as quoted in the message: whole when short, else 80 characters around the first difference
        /// (a long feature list differs in one option: that is the part to show).</summary>
        private static string Short(string? v, int at)
        {
            if (v is null)
                return "(absent)";
            if (v.Length <= 80)
                return $"'{v}'";
            int start = Math.Clamp(at - 30, 0, Math.Max(0, v.Length - 77));
            int len = Math.Min(77, v.Length - start);
            return $"'{(start > 0 ? "..." : "")}{v.Substring(start, len)}{(start + len < v.Length ? "..." : "")}'";
        }
    }
}
