using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using MLNetRank.Onnx;
using MLNetRank.Serving.Native;

namespace MLNetRank.Serving
{
    /// <summary>
    /// One ONNX network of a saved chain, with the ML.NET transforms between the previous network (or the chain's input)
    /// and it (its "segment"). The request scorer runs each segment row by row through ML.NET's row mapper and each
    /// network once per request, batched. Fixed once built; which of its columns a request needs is in the
    /// <see cref="ScoringPlan"/>.
    /// </summary>
    internal sealed class ScoringStage : IDisposable
    {
        public ScoringStage(int index, ITransformer? segment, DataViewSchema schemaBefore, byte[] onnx, DataViewSchema networkOutputSchema, RequestScorerOptions options)
        {
            Index = index;
            Segment = segment;
            SchemaBefore = schemaBefore;
            if (segment != null)
            {
                if (!segment.IsRowToRowMapper)
                    throw new NotSupportedException($"A transform before ONNX network {index + 1} is not a row-to-row mapper; the request scorer cannot apply it.");
                SegmentOutputSchema = segment.GetOutputSchema(schemaBefore);
            }
            else
                SegmentOutputSchema = schemaBefore;
            NetworkInputs = OnnxModelProto.ReadSignature(onnx).Inputs;
            onnx = PrepareNative(onnx, options);
            var (inputs, outputs) = OnnxModelProto.ReadSignature(onnx);
            Inputs = inputs;
            Outputs = outputs;
            InputTypes = inputs.Select(i => ClrType(i, "input")).ToArray();
            OutputTypes = outputs.Select(o => ClrType(o, "output")).ToArray();
            foreach (var spec in outputs)
                if (!spec.HasBatchDimension || spec.ValuesPerRow <= 0)
                    throw new NotSupportedException($"ONNX network {index + 1}: output {spec} needs a leading batch dimension and known other dimensions for batched scoring.");
            InputIsVariable = new bool[inputs.Length];
            InputStep = new long[inputs.Length];
            for (int i = 0; i < inputs.Length; i++)
            {
                var spec = inputs[i];
                int unknown = spec.Dims.Skip(1).Count(d => d < 0);
                if (!spec.HasBatchDimension || unknown > 1)
                    throw new NotSupportedException($"ONNX network {index + 1}: input {spec} needs a leading batch dimension and at most one other unknown dimension for batched scoring.");
                InputIsVariable[i] = unknown == 1;
                InputStep[i] = spec.Dims.Skip(1).Where(d => d >= 0).Aggregate(1L, (a, b) => a * b);
            }
            InputNames = inputs.Select(i => i.Name).ToArray();
            OutputNames = outputs.Select(o => o.Name).ToArray();
            OutputColumnTypes = outputs.Select(o => networkOutputSchema.GetColumnOrNull(o.Name)?.Type
                ?? new VectorDataViewType(ItemType(o.ElementType), (int)o.ValuesPerRow)).ToArray();
            var nativeOutputs = new HashSet<string>(Natives.Select(n => n.Output), StringComparer.Ordinal);
            for (int i = 0; i < inputs.Length; i++)
            {
                if (nativeOutputs.Contains(inputs[i].Name))
                    continue;
                var col = SegmentOutputSchema.GetColumnOrNull(inputs[i].Name)
                    ?? throw new InvalidDataException($"No column '{inputs[i].Name}' reaches the input of ONNX network {index + 1}.");
                CheckNetworkColumn(inputs[i], col.Type, InputTypes[i], InputStep[i], InputIsVariable[i]);
            }
            var sessionOptions = new SessionOptions
            {
                IntraOpNumThreads = options.IntraOpNumThreads,
                InterOpNumThreads = options.InterOpNumThreads,
                ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
                GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            };
            using (sessionOptions)
                Session = new InferenceSession(onnx, sessionOptions);
            // metadata of the graph: which variable inputs are zero-padded and which are one row per request
            var meta = Session.ModelMetadata.CustomMetadataMap;
            string[] Listed(string key) => meta.TryGetValue(key, out var v) ? v.Split(',', StringSplitOptions.RemoveEmptyEntries) : Array.Empty<string>();
            var padded = Listed(ServingMetadata.ZeroPaddedInputs);
            var shared = Listed(ServingMetadata.RequestLevelInputs);
            InputZeroPadded = InputNames.Select(n => padded.Contains(n)).ToArray();
            InputRequestLevel = InputNames.Select((n, i) => InputIsVariable[i] && shared.Contains(n)).ToArray();
        }

        /// <summary>
        /// The blocks of the network the scorer evaluates natively (<see cref="RequestScorerOptions.NativeKernels"/>): the
        /// network's ONNX metadata records them (<see cref="NativeTransformerSpec.MetadataKey"/>); the session runs the graph cut
        /// at their outputs, which become its inputs (written by the native runs before each call).
        /// </summary>
        public IReadOnlyList<NativeTransformerStage> Natives { get; private set; } = Array.Empty<NativeTransformerStage>();

        /// <summary>Why a recorded block stays in ONNX form (unsupported configuration), one line each.</summary>
        public IReadOnlyList<string> NativeSkipped { get; private set; } = Array.Empty<string>();

        /// <summary>The inputs of the network as saved (before any cut).</summary>
        public OnnxTensorSpec[] NetworkInputs { get; }

        /// <summary>The columns the stage reads: its session's inputs (native outputs excepted) and its native blocks' id columns.</summary>
        public IEnumerable<string> RequiredColumns => InputNames.Except(Natives.Select(n => n.Output)).Concat(Natives.SelectMany(n => n.InputColumns)).Distinct(StringComparer.Ordinal);

        /// <summary>Reads the native blocks of the model's metadata and returns the model the session runs (cut at the blocks
        /// the kernel evaluates; unchanged when there are none or native kernels are off).</summary>
        private byte[] PrepareNative(byte[] onnx, RequestScorerOptions options)
        {
            if (!options.NativeKernels || OnnxGraphCut.Metadata(onnx, NativeTransformerSpec.MetadataKey) is not { } json)
                return onnx;
            List<NativeTransformerSpec> specs;
            try
            {
                specs = NativeTransformerSpec.Read(json);
            }
            catch (System.Text.Json.JsonException e)
            {
                NativeSkipped = new[] { $"ONNX network {Index + 1}: the native block record is not readable ({e.Message}); the network runs in ONNX Runtime." };
                return onnx;
            }
            var natives = new List<NativeTransformerStage>();
            var skipped = new List<string>();
            foreach (var spec in specs)
            {
                if (NativeTransformerStage.TryCreate(spec, onnx, NetworkInputs, SegmentOutputSchema, options.RoomCacheCapacity, out var why) is { } native)
                    natives.Add(native);
                else
                    skipped.Add($"ONNX network {Index + 1}: the transformer block '{spec.Output}' runs in ONNX Runtime: the native kernel does not support {why}.");
            }
            NativeSkipped = skipped;
            if (natives.Count == 0)
                return onnx;
            try
            {
                var cut = OnnxGraphCut.Cut(onnx, natives.Select(n => (n.Output, (long)n.D)).ToArray());
                Natives = natives;
                return cut;
            }
            catch (NotSupportedException e)
            {
                NativeSkipped = skipped.Append($"ONNX network {Index + 1}: the graph cannot be cut at the native blocks ({e.Message}); it runs in ONNX Runtime.").ToArray();
                return onnx;
            }
        }

        public int Index { get; }
        public ITransformer? Segment { get; }
        public DataViewSchema SchemaBefore { get; }
        public DataViewSchema SegmentOutputSchema { get; }
        public OnnxTensorSpec[] Inputs { get; }
        public OnnxTensorSpec[] Outputs { get; }
        public Type[] InputTypes { get; }
        public Type[] OutputTypes { get; }
        public string[] InputNames { get; }
        public string[] OutputNames { get; }
        public DataViewType[] OutputColumnTypes { get; }

        /// <summary>True for an input with a variable (sequence) dimension besides the batch.</summary>
        public bool[] InputIsVariable { get; }

        /// <summary>Per input: 0 is padding (<see cref="ServingMetadata.ZeroPaddedInputs"/>).</summary>
        public bool[] InputZeroPadded { get; }

        /// <summary>Per input: one row per request (<see cref="ServingMetadata.RequestLevelInputs"/>).</summary>
        public bool[] InputRequestLevel { get; }

        /// <summary>Product of an input's known non-batch dimensions.</summary>
        public long[] InputStep { get; }
        public InferenceSession Session { get; }

        public IRowToRowMapper CreateMapper() => Segment!.GetRowToRowMapper(SchemaBefore);

        /// <summary>
        /// The names of the columns that the transforms of <paramref name="chain"/> compute (each ML.NET row-to-row transform
        /// appends its columns to its input schema; a column it replaces is appended under the same name). Indices in the
        /// chain's final schema cannot tell this, since a <c>DropColumns</c> renumbers the columns after it.
        /// </summary>
        internal static HashSet<string> ProducedNames(ITransformer chain, DataViewSchema input)
        {
            var names = new HashSet<string>(StringComparer.Ordinal);
            var transforms = chain as IEnumerable<ITransformer> ?? new[] { chain };
            var schema = input;
            foreach (var t in transforms)
            {
                var output = t.GetOutputSchema(schema);
                for (int i = schema.Count; i < output.Count; i++)
                    names.Add(output[i].Name);
                schema = output;
            }
            return names;
        }

        public void Dispose()
        {
            Session.Dispose();
            if (Segment is IEnumerable<ITransformer> chain)
                foreach (var t in chain)
                    (t as IDisposable)?.Dispose();
        }

        internal static void CheckNetworkColumn(OnnxTensorSpec input, DataViewType type, Type clr, long step, bool variable)
        {
            var item = type is VectorDataViewType v ? v.ItemType : type;
            int width = type is VectorDataViewType vt ? vt.Size : 1;
            if (item.RawType != clr)
                throw new InvalidDataException($"Column '{input.Name}' has type {type}; the network input {input} needs {clr.Name} values.");
            if (variable)
            {
                if (width > 0 && width % step != 0)
                    throw new InvalidDataException($"Column '{input.Name}' has {width} values per row, not a multiple of {step} as the network input {input} needs.");
                return;
            }
            if (width != input.ValuesPerRow)
                throw new InvalidDataException($"Column '{input.Name}' has {(width == 0 ? "a variable number of" : width.ToString())} values per row; the network input {input} needs {input.ValuesPerRow}.");
        }

        internal static RequestColumn ColumnOf(string name, DataViewType type)
        {
            var item = type is VectorDataViewType v ? v.ItemType : type;
            int width = type is VectorDataViewType vt ? vt.Size : 1;
            var raw = item.RawType;
            bool supported = raw == typeof(float) || raw == typeof(double) || raw == typeof(int) || raw == typeof(long) || raw == typeof(uint)
                || raw == typeof(ulong) || raw == typeof(short) || raw == typeof(ushort) || raw == typeof(byte) || raw == typeof(sbyte)
                || raw == typeof(bool) || raw == typeof(ReadOnlyMemory<char>);
            if (!supported)
                throw new NotSupportedException($"Column '{name}' has type {type}, which a scoring request cannot carry.");
            return new RequestColumn(name, type, raw, width);
        }

        private static Type ClrType(OnnxTensorSpec spec, string role) => spec.ElementType switch
        {
            TensorElementType.Float => typeof(float),
            TensorElementType.Double => typeof(double),
            TensorElementType.Int32 => typeof(int),
            TensorElementType.Int64 => typeof(long),
            TensorElementType.UInt32 => typeof(uint),
            TensorElementType.UInt64 => typeof(ulong),
            TensorElementType.Int16 => typeof(short),
            TensorElementType.UInt16 => typeof(ushort),
            TensorElementType.Int8 => typeof(sbyte),
            TensorElementType.UInt8 => typeof(byte),
            TensorElementType.Bool => typeof(bool),
            _ => throw new NotSupportedException($"Network {role} {spec} has an element type the request scorer does not batch."),
        };

        private static PrimitiveDataViewType ItemType(TensorElementType t) => t switch
        {
            TensorElementType.Float => NumberDataViewType.Single,
            TensorElementType.Double => NumberDataViewType.Double,
            TensorElementType.Int32 => NumberDataViewType.Int32,
            TensorElementType.Int64 => NumberDataViewType.Int64,
            TensorElementType.UInt32 => NumberDataViewType.UInt32,
            TensorElementType.UInt64 => NumberDataViewType.UInt64,
            TensorElementType.Int16 => NumberDataViewType.Int16,
            TensorElementType.UInt16 => NumberDataViewType.UInt16,
            TensorElementType.Int8 => NumberDataViewType.SByte,
            TensorElementType.UInt8 => NumberDataViewType.Byte,
            TensorElementType.Bool => BooleanDataViewType.Instance,
            _ => throw new NotSupportedException($"ONNX element type {t} has no ML.NET column type."),
        };
    }
}
