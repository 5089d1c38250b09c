using System;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;

namespace MLNetRank.Serving
{
    /// <summary>One ONNX network stored in a saved ML.NET model zip: the zip entry and the ONNX bytes.</summary>
    internal sealed class SavedOnnxModel
    {
        public SavedOnnxModel(string entryName, byte[] bytes, bool hasDigest)
        {
            EntryName = entryName;
            Bytes = bytes;
            HasDigest = hasDigest;
        }

        /// <summary>True when the network carries MLNetRank's SHA-256 digest (and matched it: a mismatch is an error).</summary>
        public bool HasDigest { get; }

        /// <summary>The zip entry's full name (e.g. <c>TransformerChain/Transform_001/OnnxModel</c>).</summary>
        public string EntryName { get; }

        /// <summary>The ONNX model bytes.</summary>
        public byte[] Bytes { get; }
    }

    /// <summary>
    /// The one reader of a saved ML.NET model zip's ONNX parts. ML.NET's <c>OnnxTransformer</c> saves its model as a binary
    /// stream in an entry named <c>OnnxModel</c> (in the folder of its place in the chain): an int32 length, then the bytes.
    /// Rule: every entry whose last path segment is exactly <c>OnnxModel</c>, in the archive's order, which is ML.NET's
    /// save order (the chain's order, depth first). A damaged entry (short, a length that does not match the entry's size,
    /// a network that does not match the SHA-256 digest MLNetRank wrote in it at save) is an error.
    /// </summary>
    internal static class ModelZip
    {
        /// <summary>The entry name ML.NET's <c>OnnxTransformer</c> saves its model under.</summary>
        public const string OnnxModelEntry = "OnnxModel";

        /// <summary>The ONNX models stored in the zip, in save order.</summary>
        /// <param name="zip">The zip; read from its current position, left open.</param>
        /// <param name="source">How errors name the zip (a path, "the stream").</param>
        /// <exception cref="InvalidDataException">Not a readable zip, or an <c>OnnxModel</c> entry is damaged.</exception>
        public static IReadOnlyList<SavedOnnxModel> ReadOnnxModels(Stream zip, string source)
        {
            if (zip is null)
                throw new ArgumentNullException(nameof(zip));
            var models = new List<SavedOnnxModel>();
            try
            {
                using var archive = new ZipArchive(zip, ZipArchiveMode.Read, leaveOpen: true);
                foreach (var entry in archive.Entries)
                {
                    if (entry.Name != OnnxModelEntry)
                        continue;
                    // every length is bounded by the entry's size before anything is allocated: a damaged length never
                    // becomes a negative count or a huge allocation
                    long size = entry.Length;
                    if (size < 4)
                        throw new InvalidDataException($"Zip entry '{entry.FullName}' is damaged: {size} bytes, too short for an ONNX model.");
                    using var s = entry.Open();
                    using var reader = new BinaryReader(s);
                    int length = reader.ReadInt32();
                    if (length <= 0 || length != size - 4)
                        throw new InvalidDataException($"Zip entry '{entry.FullName}' is damaged: it announces {length} ONNX bytes but holds {size - 4}.");
                    byte[] bytes = reader.ReadBytes(length);
                    if (bytes.Length != length)
                        throw new InvalidDataException($"Zip entry '{entry.FullName}' is truncated: {bytes.Length} of {length} ONNX bytes.");
                    bool sealedModel = Onnx.OnnxDigest.Verify(bytes, $"'{entry.FullName}' of {source}");
                    models.Add(new SavedOnnxModel(entry.FullName, bytes, sealedModel));
                }
            }
            catch (Exception e) when (e is InvalidDataException or EndOfStreamException or IOException)
            {
                throw new InvalidDataException($"{source} is not a readable ML.NET model zip: {e.Message}", e);
            }
            return models;
        }
    }
}
