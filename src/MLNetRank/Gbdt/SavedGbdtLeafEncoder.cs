using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using MLNetRank.Onnx;
using MLNetRank.Serving;

namespace MLNetRank.Gbdt
{
    /// <summary>
    /// A fast <see cref="GbdtLeafEncoder"/> rebuilt from a saved ML.NET model zip (the ONNX tree graph MLNetRank stores in
    /// it), with the columns it reads and writes: the request scorer opens the one artifact, gets the same leaves as the
    /// saved chain, without ONNX Runtime's per-row call.
    /// </summary>
    public sealed class SavedGbdtLeafEncoder
    {
        private SavedGbdtLeafEncoder(string featureColumnName, string outputColumnName, GbdtLeafEncoder encoder)
        {
            FeatureColumnName = featureColumnName;
            OutputColumnName = outputColumnName;
            Encoder = encoder;
        }

        /// <summary>The feature column the trees read.</summary>
        public string FeatureColumnName { get; }

        /// <summary>The leaf-id column the saved chain writes.</summary>
        public string OutputColumnName { get; }

        /// <summary>The fast evaluator of the saved trees.</summary>
        public GbdtLeafEncoder Encoder { get; }

        /// <summary>Every GBDT leaf encoding saved in the model zip at <paramref name="modelPath"/>, in chain order.</summary>
        /// <param name="modelPath">A zip written by <c>mlContext.Model.Save</c>.</param>
        public static IReadOnlyList<SavedGbdtLeafEncoder> Load(string modelPath)
        {
            using var stream = File.OpenRead(modelPath ?? throw new ArgumentNullException(nameof(modelPath)));
            return Load(stream);
        }

        /// <summary>Every GBDT leaf encoding saved in the model zip read from <paramref name="modelZip"/>, in chain order.</summary>
        /// <param name="modelZip">A stream over a zip written by <c>mlContext.Model.Save</c>.</param>
        /// <exception cref="InvalidDataException">The zip is not readable or one of its ONNX entries is damaged.</exception>
        public static IReadOnlyList<SavedGbdtLeafEncoder> Load(Stream modelZip)
        {
            if (modelZip is null)
                throw new ArgumentNullException(nameof(modelZip));
            var result = new List<SavedGbdtLeafEncoder>();
            foreach (var saved in ModelZip.ReadOnnxModels(modelZip, "the model zip"))
            {
                var parsed = TryParse(saved.Bytes);
                if (parsed is not null)
                    result.Add(parsed);
            }
            return result;
        }

        private const string LocalPrefix = "__GbdtLeafIndex_";

        private static SavedGbdtLeafEncoder? TryParse(byte[] model)
        {
            Onnx.Spec.GraphProto? graph;
            try
            {
                graph = OnnxModelProto.Parse(model).Graph;
                if (graph is null)
                    return null;
            }
            catch (InvalidDataException)
            {
                return null;   // not an ONNX model MLNetRank wrote: another network of the chain
            }
            var ensemble = graph.Node.FirstOrDefault(n => n.OpType == "TreeEnsembleRegressor");
            string? output = ensemble?.Output.FirstOrDefault();
            var inputSpec = graph.Input.Count > 0 ? OnnxModelProto.ParseValueInfo(graph.Input[^1]) : null;
            string? input = inputSpec?.Name;
            long width = inputSpec is { Dims.Count: > 0 } ? inputSpec.Dims[^1] : -1;
            if (graph.Name != "MLNetRankGbdtLeafIndex" || ensemble is null || input is null || string.IsNullOrEmpty(output) || width < 1
                || !output.StartsWith(LocalPrefix, StringComparison.Ordinal))
                return null;

            var ints = new Dictionary<string, List<long>>();
            var floats = new Dictionary<string, List<float>>();
            var strings = new Dictionary<string, List<string>>();
            long targets = 0;
            foreach (var a in ensemble.Attribute)
            {
                if (a.Name == "n_targets")
                    targets = a.I;
                ints[a.Name] = a.Ints.ToList();
                floats[a.Name] = a.Floats.ToList();
                strings[a.Name] = a.Strings.Select(b => b.ToStringUtf8()).ToList();
            }
            var treeIds = ints["nodes_treeids"];
            var nodeIds = ints["nodes_nodeids"];
            var featureIds = ints["nodes_featureids"];
            var modes = strings["nodes_modes"];
            var values = floats["nodes_values"];
            var trueIds = ints["nodes_truenodeids"];
            var falseIds = ints["nodes_falsenodeids"];
            var missing = ints["nodes_missing_value_tracks_true"];
            var tTree = ints["target_treeids"];
            var tNode = ints["target_nodeids"];
            var tWeight = floats["target_weights"];
            int trees = checked((int)targets);

            var nodeCount = new int[trees];
            foreach (var t in treeIds)
                nodeCount[(int)t]++;
            var raw = new GbdtLeafEncoder.RawNode[trees][];
            for (int t = 0; t < trees; t++)
                raw[t] = new GbdtLeafEncoder.RawNode[nodeCount[t]];
            for (int i = 0; i < treeIds.Count; i++)
            {
                int t = (int)treeIds[i], id = (int)nodeIds[i];
                raw[t][id] = modes[i] == "LEAF"
                    ? new GbdtLeafEncoder.RawNode(-1, 0f, -1, -1, false, -1)
                    : new GbdtLeafEncoder.RawNode((int)featureIds[i], values[i], (int)trueIds[i], (int)falseIds[i], missing[i] != 0, -1);
            }
            var leafCounts = new int[trees];
            for (int i = 0; i < tTree.Count; i++)
            {
                int t = (int)tTree[i], id = (int)tNode[i], leaf = (int)tWeight[i];
                var n = raw[t][id];
                raw[t][id] = new GbdtLeafEncoder.RawNode(n.Feature, n.Threshold, n.True, n.False, n.NanTrue, leaf);
                leafCounts[t] = Math.Max(leafCounts[t], leaf + 1);
            }
            var encoder = GbdtLeafEncoder.FromRawTrees(raw, leafCounts, checked((int)width));
            return new SavedGbdtLeafEncoder(input, output.Substring(LocalPrefix.Length), encoder);
        }
    }
}
