using System;
using System.Collections.Generic;
using System.Linq;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace MLNetRank.Serving.Native
{
    /// <summary>
    /// Where a transformer block's ids come from in the ONNX graph: a graph input of key ids (uint32, 0 = padding or
    /// unknown) and the embedding table (an initializer [rows, d]) they index. A sequence keeps its last
    /// <see cref="MaximumLength"/> ids; a categorical input has <see cref="Slots"/> ids per row, slot j's ids offset by
    /// j·<see cref="SlotStride"/>. An id is a token when its table row (offset included) is &gt; 0, as the graph's mask.
    /// </summary>
    internal sealed class NativeIdSource
    {
        [JsonPropertyName("input")] public string Input { get; set; } = "";
        [JsonPropertyName("table")] public string Table { get; set; } = "";
        [JsonPropertyName("sequence")] public bool IsSequence { get; set; }
        [JsonPropertyName("maxLength")] public int MaximumLength { get; set; }
        [JsonPropertyName("slots")] public int Slots { get; set; }
        [JsonPropertyName("slotStride")] public long SlotStride { get; set; }
        /// <summary>One row per request (every candidate's row holds the same ids).</summary>
        [JsonPropertyName("requestLevel")] public bool RequestLevel { get; set; }
    }

    /// <summary>
    /// The record of a V4 transformer block (summary-token output) that the exporter writes into the ONNX model's metadata
    /// (<see cref="MetadataKey"/>, a JSON array): the tensor the block outputs ([B, d]), where its ids come from (the user's
    /// sequence, then one source per room token type), its configuration and its trained parameters
    /// (<see cref="TransformerParameters.Pack"/>, little-endian floats in base64). The request scorer evaluates such a block
    /// natively and runs the rest of the graph in ONNX Runtime.
    /// </summary>
    internal sealed class NativeTransformerSpec
    {
        /// <summary>The ONNX metadata_props key.</summary>
        public const string MetadataKey = "mlnetrank.native_transformer";

        [JsonPropertyName("output")] public string Output { get; set; } = "";
        [JsonPropertyName("user")] public NativeIdSource User { get; set; } = new NativeIdSource();
        [JsonPropertyName("room")] public List<NativeIdSource> Room { get; set; } = new List<NativeIdSource>();
        [JsonPropertyName("d")] public int Dimension { get; set; }
        [JsonPropertyName("heads")] public int Heads { get; set; }
        [JsonPropertyName("ff")] public int FeedForward { get; set; }
        [JsonPropertyName("layers")] public int Layers { get; set; }
        [JsonPropertyName("positions")] public int Positions { get; set; }
        [JsonPropertyName("parameters")] public string Parameters { get; set; } = "";

        public static NativeTransformerSpec Of(string output, NativeIdSource user, IEnumerable<NativeIdSource> room, TransformerParameters p) => new NativeTransformerSpec
        {
            Output = output,
            User = user,
            Room = room.ToList(),
            Dimension = p.Dimension,
            Heads = p.Heads,
            FeedForward = p.FeedForward,
            Layers = p.Layers,
            Positions = p.Positions,
            Parameters = Convert.ToBase64String(MemoryMarshal.AsBytes(p.Pack().AsSpan())),
        };

        /// <summary>The parameters (throws when they do not fit the configuration).</summary>
        public TransformerParameters Unpack()
        {
            var bytes = Convert.FromBase64String(Parameters);
            if (bytes.Length % 4 != 0)
                throw new FormatException("The transformer's parameters are not a whole number of floats.");
            return TransformerParameters.Unpack(Dimension, Heads, FeedForward, Layers, Positions, Room.Count, MemoryMarshal.Cast<byte, float>(bytes).ToArray());
        }

        public static string Write(IReadOnlyList<NativeTransformerSpec> specs) => JsonSerializer.Serialize(specs);

        /// <summary>The specs of a metadata value; throws <see cref="JsonException"/> on malformed text.</summary>
        public static List<NativeTransformerSpec> Read(string json) => JsonSerializer.Deserialize<List<NativeTransformerSpec>>(json) ?? new List<NativeTransformerSpec>();
    }
}
