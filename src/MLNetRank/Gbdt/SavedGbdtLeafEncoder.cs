using System;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
using System.Text;

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
        public static IReadOnlyList<SavedGbdtLeafEncoder> Load(Stream modelZip)
        {
            if (modelZip is null)
                throw new ArgumentNullException(nameof(modelZip));
            var result = new List<SavedGbdtLeafEncoder>();
            using var zip = new ZipArchive(modelZip, ZipArchiveMode.Read, leaveOpen: true);
            var entries = new List<ZipArchiveEntry>();
            foreach (var e in zip.Entries)
                if (e.FullName.EndsWith("/OnnxModel", StringComparison.Ordinal) || e.FullName == "OnnxModel")
                    entries.Add(e);
            entries.Sort((a, b) => string.CompareOrdinal(a.FullName, b.FullName));
            foreach (var entry in entries)
            {
                byte[] bytes;
                using (var s = entry.Open())
                using (var ms = new MemoryStream())
                {
                    s.CopyTo(ms);
                    bytes = ms.ToArray();
                }
                // ML.NET writes the ONNX bytes as a length-prefixed byte array.
                if (bytes.Length < 4)
                    continue;
                int length = BitConverter.ToInt32(bytes, 0);
                if (length != bytes.Length - 4)
                    continue;
                var parsed = TryParse(new ReadOnlySpan<byte>(bytes, 4, length).ToArray());
                if (parsed is not null)
                    result.Add(parsed);
            }
            return result;
        }

        private const string LocalPrefix = "__GbdtLeafIndex_";

        private static SavedGbdtLeafEncoder? TryParse(byte[] model)
        {
            var graph = default(Span);
            foreach (var f in Proto.Fields(model, new Span(0, model.Length)))
                if (f.Number == 7)
                    graph = f.Bytes;
            if (graph.Length == 0)
                return null;
            string? name = null, input = null, output = null;
            long width = -1;
            Span ensemble = default;
            foreach (var f in Proto.Fields(model, graph))
            {
                switch (f.Number)
                {
                    case 2:
                        name = Proto.Text(model, f.Bytes);
                        break;
                    case 1:
                        string op = "";
                        foreach (var nf in Proto.Fields(model, f.Bytes))
                            if (nf.Number == 4)
                                op = Proto.Text(model, nf.Bytes);
                        if (op == "TreeEnsembleRegressor")
                        {
                            ensemble = f.Bytes;
                            foreach (var nf in Proto.Fields(model, f.Bytes))
                                if (nf.Number == 2 && output is null)
                                    output = Proto.Text(model, nf.Bytes);
                        }
                        break;
                    case 11:
                        foreach (var vf in Proto.Fields(model, f.Bytes))
                        {
                            if (vf.Number == 1)
                                input = Proto.Text(model, vf.Bytes);
                            else if (vf.Number == 2)
                                width = LastDim(model, vf.Bytes);
                        }
                        break;
                }
            }
            if (name != "MLNetRankGbdtLeafIndex" || ensemble.Length == 0 || input is null || output is null || width < 1
                || !output.StartsWith(LocalPrefix, StringComparison.Ordinal))
                return null;

            var ints = new Dictionary<string, List<long>>();
            var floats = new Dictionary<string, List<float>>();
            var strings = new Dictionary<string, List<string>>();
            long targets = 0;
            foreach (var f in Proto.Fields(model, ensemble))
            {
                if (f.Number != 5)
                    continue;
                string attr = "";
                var iv = new List<long>();
                var fv = new List<float>();
                var sv = new List<string>();
                long single = 0;
                foreach (var af in Proto.Fields(model, f.Bytes))
                {
                    switch (af.Number)
                    {
                        case 1: attr = Proto.Text(model, af.Bytes); break;
                        case 3: single = (long)af.Varint; break;
                        case 7: Proto.Floats(model, af, fv); break;
                        case 8: Proto.Ints(model, af, iv); break;
                        case 9: sv.Add(Proto.Text(model, af.Bytes)); break;
                    }
                }
                if (attr == "n_targets")
                    targets = single;
                ints[attr] = iv;
                floats[attr] = fv;
                strings[attr] = sv;
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

        private static long LastDim(byte[] model, Span valueInfoType)
        {
            long last = -1;
            foreach (var tf in Proto.Fields(model, valueInfoType))          // TypeProto
                if (tf.Number == 1)
                    foreach (var tt in Proto.Fields(model, tf.Bytes))       // Tensor
                        if (tt.Number == 2)
                            foreach (var sh in Proto.Fields(model, tt.Bytes)) // Shape
                                if (sh.Number == 1)
                                {
                                    long v = -1;
                                    foreach (var d in Proto.Fields(model, sh.Bytes))
                                        if (d.Number == 1)
                                            v = (long)d.Varint;
                                    last = v;
                                }
            return last;
        }

        private readonly record struct Span(int Start, int Length);

        private readonly record struct Field(int Number, int Wire, ulong Varint, Span Bytes);

        /// <summary>A minimal protobuf reader for the messages MLNetRank writes.</summary>
        private static class Proto
        {
            public static IEnumerable<Field> Fields(byte[] buffer, Span span)
            {
                int pos = span.Start, end = span.Start + span.Length;
                while (pos < end)
                {
                    ulong key = Varint(buffer, ref pos);
                    int number = (int)(key >> 3), wire = (int)(key & 7);
                    switch (wire)
                    {
                        case 0:
                            yield return new Field(number, wire, Varint(buffer, ref pos), default);
                            break;
                        case 1:
                            yield return new Field(number, wire, BitConverter.ToUInt64(buffer, pos), new Span(pos, 8));
                            pos += 8;
                            break;
                        case 2:
                            int len = checked((int)Varint(buffer, ref pos));
                            if (len < 0 || pos + len > end)
                                throw new InvalidDataException("Truncated ONNX message.");
                            yield return new Field(number, wire, 0, new Span(pos, len));
                            pos += len;
                            break;
                        case 5:
                            yield return new Field(number, wire, BitConverter.ToUInt32(buffer, pos), new Span(pos, 4));
                            pos += 4;
                            break;
                        default:
                            throw new InvalidDataException($"Unsupported protobuf wire type {wire}.");
                    }
                }
            }

            public static string Text(byte[] buffer, Span span) => Encoding.UTF8.GetString(buffer, span.Start, span.Length);

            public static void Ints(byte[] buffer, Field f, List<long> into)
            {
                if (f.Wire == 0)
                {
                    into.Add((long)f.Varint);
                    return;
                }
                int pos = f.Bytes.Start, end = f.Bytes.Start + f.Bytes.Length;
                while (pos < end)
                    into.Add((long)Varint(buffer, ref pos));
            }

            public static void Floats(byte[] buffer, Field f, List<float> into)
            {
                if (f.Wire == 5)
                {
                    into.Add(BitConverter.ToSingle(buffer, f.Bytes.Start));
                    return;
                }
                for (int pos = f.Bytes.Start; pos + 4 <= f.Bytes.Start + f.Bytes.Length; pos += 4)
                    into.Add(BitConverter.ToSingle(buffer, pos));
            }

            private static ulong Varint(byte[] buffer, ref int pos)
            {
                ulong result = 0;
                for (int shift = 0; shift < 64; shift += 7)
                {
                    byte b = buffer[pos++];
                    result |= (ulong)(b & 0x7F) << shift;
                    if (b < 0x80)
                        return result;
                }
                throw new InvalidDataException("Malformed varint.");
            }
        }
    }
}
