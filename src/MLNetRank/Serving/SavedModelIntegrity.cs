using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;

namespace MLNetRank.Serving
{
    /// <summary>What <see cref="SavedModelIntegrity.Verify(string)"/> found in a saved model zip.</summary>
    public sealed class ModelIntegrityReport
    {
        internal ModelIntegrityReport(IReadOnlyList<string> verified, IReadOnlyList<string> withoutDigest)
        {
            VerifiedNetworks = verified;
            NetworksWithoutDigest = withoutDigest;
        }

        /// <summary>Zip entries of the ONNX networks whose bytes match the SHA-256 digest written when they were saved.</summary>
        public IReadOnlyList<string> VerifiedNetworks { get; }

        /// <summary>Zip entries of ONNX networks that carry no digest (written by other tools, or by MLNetRank before digests
        /// existed): readable, but not checked.</summary>
        public IReadOnlyList<string> NetworksWithoutDigest { get; }
    }

    /// <summary>
    /// Checks a saved model zip before ML.NET loads it. A zip entry's CRC only proves the entry is what the zip was written
    /// with: a file damaged and re-zipped (or a zip tool that rewrites CRCs) loads in ML.NET and scores wrong. Every ONNX
    /// network MLNetRank saves carries a SHA-256 digest of its bytes (an ONNX <c>metadata_props</c> entry, key
    /// <c>mlnetrank.sha256</c>, ignored by ONNX Runtime); this verifies each one. The request scorer
    /// (<see cref="RequestScorer.Open(string, RequestScorerOptions?)"/>) does the same check itself; call this when you
    /// load with plain <c>mlContext.Model.Load</c>:
    /// <code>
    /// SavedModelIntegrity.Verify("model.zip");            // InvalidDataException when a network was changed
    /// var model = mlContext.Model.Load("model.zip", out var schema);
    /// </code>
    /// </summary>
    public static class SavedModelIntegrity
    {
        /// <summary>Verifies every ONNX network in the model zip at <paramref name="path"/>.</summary>
        /// <exception cref="FileNotFoundException">No file at <paramref name="path"/>.</exception>
        /// <exception cref="InvalidDataException">Not a readable zip, a damaged <c>OnnxModel</c> entry, or a network that does
        /// not match its digest (the message names the entry).</exception>
        public static ModelIntegrityReport Verify(string path)
        {
            if (string.IsNullOrEmpty(path))
                throw new ArgumentException("A model path is needed.", nameof(path));
            if (!File.Exists(path))
                throw new FileNotFoundException($"Model file '{path}' not found.", path);
            using var s = File.OpenRead(path);
            return Verify(s, $"'{path}'");
        }

        /// <summary>Verifies every ONNX network in a model zip read from <paramref name="zip"/> (left open).</summary>
        public static ModelIntegrityReport Verify(Stream zip) => Verify(zip, "the stream");

        private static ModelIntegrityReport Verify(Stream zip, string source)
        {
            if (zip is null)
                throw new ArgumentNullException(nameof(zip));
            var models = ModelZip.ReadOnnxModels(zip, source);
            return new ModelIntegrityReport(
                models.Where(m => m.HasDigest).Select(m => m.EntryName).ToArray(),
                models.Where(m => !m.HasDigest).Select(m => m.EntryName).ToArray());
        }
    }
}
