using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime.Tensors;
using Microsoft.ML.Transforms.Onnx;
using MLNetRank.Common;

namespace MLNetRank.Onnx
{
    /// <summary>
    /// Applies an ONNX network (bytes, e.g. exported from PyTorch) to ML.NET columns through ML.NET's own
    /// <see cref="OnnxTransformer"/>, so the model saves into the ML.NET zip (entry <c>OnnxModel</c>) and loads in a fresh
    /// process with no MLNetRank code.
    /// </summary>
    /// <remarks>
    /// <para>Before handing the graph to ML.NET the estimator adapts it to the input columns: a graph input read from a
    /// column with another name gets an <c>Identity</c>, one whose column has another element type (e.g. <c>UInt32</c> ids
    /// into an <c>int64</c> input) gets a <c>Cast</c>, and a renamed output gets an <c>Identity</c>. The fitted chain is
    /// therefore the single built-in <see cref="OnnxTransformer"/>, with no conversion transforms around it.</para>
    /// <para>Column shapes: a graph input <c>[-1, n]</c> (or <c>[-1, a, b]</c> with <c>a*b = n</c>) reads a known-size vector of
    /// <c>n</c> values, or a scalar when <c>n = 1</c>; a graph output <c>[-1, k]</c> becomes a known-size vector column of
    /// <c>k</c> values (ML.NET's <see cref="OnnxTransformer"/> always produces vectors). Key columns pass their raw
    /// (1-based, 0 = missing) values.</para>
    /// <format type="text/markdown"><![CDATA[
    /// ###  Estimator Characteristics
    /// |  |  |
    /// | -- | -- |
    /// | Does this estimator need to look at the data to train its parameters? | No (the network is given) |
    /// | Input column data type | Numeric, boolean or key scalars or known-size vectors, one per graph input |
    /// | Output column data type | Known-size vectors of the graph outputs' element types |
    /// | Required NuGet in addition to Microsoft.ML | Microsoft.ML.OnnxTransformer, Microsoft.ML.OnnxRuntime |
    /// | Saved as | ML.NET's `OnnxTransformer` (`OnnxTransform`, ONNX bytes in zip entry `OnnxModel`) |
    /// ]]></format>
    /// </remarks>
    public sealed class OnnxNetworkEstimator : IEstimator<OnnxNetworkTransformer>
    {
        /// <summary>Options of <see cref="OnnxNetworkEstimator"/>.</summary>
        public sealed class Options
        {
            /// <summary>The ONNX model bytes (required).</summary>
            public byte[] Model { get; set; } = Array.Empty<byte>();

            /// <summary>Graph input name to the column it reads; inputs not listed read the column of their own name.</summary>
            public IDictionary<string, string> InputColumns { get; set; } = new Dictionary<string, string>();

            /// <summary>Graph output name to the column it becomes; outputs not listed keep their name.</summary>
            public IDictionary<string, string> OutputColumns { get; set; } = new Dictionary<string, string>();

            /// <summary>ONNX Runtime intra-op threads of the fitted transformer (null: ONNX Runtime's default). Not saved in the zip.</summary>
            public int? IntraOpNumThreads { get; set; }

            /// <summary>ONNX Runtime inter-op threads of the fitted transformer (null: ONNX Runtime's default). Not saved in the zip.</summary>
            public int? InterOpNumThreads { get; set; }
        }

        private readonly MLContext _context;
        private readonly Options _options;
        private readonly OnnxTensorSpec[] _graphInputs;
        private readonly OnnxTensorSpec[] _graphOutputs;

        /// <summary>Creates the estimator; prefer <c>mlContext.Ranker().Transforms.ApplyOnnxNetwork(...)</c>.</summary>
        /// <param name="mlContext">The ML.NET context.</param>
        /// <param name="options">Options; <see cref="Options.Model"/> is required.</param>
        public OnnxNetworkEstimator(MLContext mlContext, Options options)
        {
            _context = mlContext ?? throw new ArgumentNullException(nameof(mlContext));
            _options = options ?? throw new ArgumentNullException(nameof(options));
            if (options.Model is null || options.Model.Length == 0)
                throw new ArgumentException("The ONNX model bytes are required (Options.Model).", nameof(options));
            (_graphInputs, _graphOutputs) = OnnxModelProto.ReadSignature(options.Model);
            if (_graphOutputs.Length == 0)
                throw new ArgumentException("The ONNX model has no output.", nameof(options));
            foreach (var name in options.InputColumns?.Keys ?? Array.Empty<string>())
                if (!_graphInputs.Any(i => i.Name == name))
                    throw new ArgumentOutOfRangeException(nameof(options), $"InputColumns names '{name}', which is not an input of the ONNX graph ({string.Join(", ", _graphInputs.Select(i => i.Name))}).");
            var shared = _graphInputs.GroupBy(ColumnOf).FirstOrDefault(grp => grp.Count() > 1);
            if (shared != null)
                throw new ArgumentOutOfRangeException(nameof(options),
                    $"ONNX inputs {string.Join(" and ", shared.Select(i => $"'{i.Name}'"))} would read the same column '{shared.Key}'; map each graph input to its own column.");
            foreach (var name in options.OutputColumns?.Keys ?? Array.Empty<string>())
                if (!_graphOutputs.Any(o => o.Name == name))
                    throw new ArgumentOutOfRangeException(nameof(options), $"OutputColumns names '{name}', which is not an output of the ONNX graph ({string.Join(", ", _graphOutputs.Select(o => o.Name))}).");
        }

        /// <summary>The graph inputs, as declared in the model (before adaptation to the columns).</summary>
        public IReadOnlyList<OnnxTensorSpec> GraphInputs => _graphInputs;

        /// <summary>The graph outputs, as declared in the model (before renaming).</summary>
        public IReadOnlyList<OnnxTensorSpec> GraphOutputs => _graphOutputs;

        /// <summary>Checks the input columns and returns the output schema, computed by ML.NET's <c>OnnxScoringEstimator</c>.</summary>
        /// <param name="inputSchema">The input schema.</param>
        public SchemaShape GetOutputSchema(SchemaShape inputSchema)
        {
            if (inputSchema is null)
                throw new ArgumentNullException(nameof(inputSchema));
            // The columns the network reads, as a concrete schema (a SchemaShape has no vector sizes: a vector column
            // is given the size the graph expects; Fit checks the real sizes).
            var builder = new DataViewSchema.Builder();
            var added = new HashSet<string>();
            var columnTypes = new Dictionary<string, TensorElementType>();
            foreach (var input in _graphInputs)
            {
                string column = ColumnOf(input);
                var col = Check.Column(inputSchema, column, $"ONNX input '{input.Name}'", Expected(input), c => Accepts(input, c));
                var raw = ElementTypeOf(col.ItemType)!.Value;
                columnTypes[input.Name] = raw;
                var item = ItemTypeOf(raw);
                long n = input.ValuesPerRow;
                DataViewType type = col.Kind == SchemaShape.Column.VectorKind.Scalar ? item
                    : n > 0 ? new VectorDataViewType(item, (int)n) : new VectorDataViewType(item);
                if (added.Add(column))
                    builder.AddColumn(column, type);
            }
            var adapted = Adapt(columnTypes);
            // OnnxScoringEstimator.GetOutputSchema compares item types exactly, while its transformer reads key columns
            // as their raw type: present key columns to it as their raw numbers (ML.NET's ConvertType propagates the shape).
            var onnxInput = inputSchema;
            var keyColumns = _graphInputs.Select(ColumnOf).Distinct()
                .Where(c => inputSchema.Any(col => col.Name == c && col.IsKey)).ToArray();
            foreach (var group in keyColumns.GroupBy(c => RawKind(inputSchema.First(col => col.Name == c).ItemType)))
                onnxInput = _context.Transforms.Conversion.ConvertType(
                        group.Select(c => new InputOutputColumnPair(c, c)).ToArray(), group.Key)
                    .GetOutputSchema(onnxInput);
            var shape = OnnxOutputSchema(adapted, onnxInput, builder.ToSchema());
            var outputs = OutputColumnNames();
            var result = inputSchema.Where(c => !outputs.Contains(c.Name)).ToList();
            result.AddRange(shape.Where(c => outputs.Contains(c.Name)));
            return new SchemaShape(result);
        }

        /// <summary>Checks the input columns (names, types, vector sizes) and returns the transformer (no pass over the data).</summary>
        /// <param name="input">Training data; only its schema is used.</param>
        public OnnxNetworkTransformer Fit(IDataView input)
        {
            if (input is null)
                throw new ArgumentNullException(nameof(input));
            return Create(input.Schema);
        }

        /// <summary>Creates the transformer for data of <paramref name="inputSchema"/> (no data needed).</summary>
        /// <param name="inputSchema">The schema of the data the transformer will score.</param>
        public OnnxNetworkTransformer Create(DataViewSchema inputSchema)
        {
            if (inputSchema is null)
                throw new ArgumentNullException(nameof(inputSchema));
            var columnTypes = new Dictionary<string, TensorElementType>();
            foreach (var input in _graphInputs)
            {
                string column = ColumnOf(input);
                var col = Check.Column(inputSchema, column, $"ONNX input '{input.Name}'", Expected(input), t => Accepts(input, t));
                columnTypes[input.Name] = ElementTypeOf(ItemOf(col.Type))!.Value;
                long n = input.ValuesPerRow;
                int count = col.Type is VectorDataViewType vt ? vt.Size : 1;
                if (n > 0 && count != n)
                    throw new ArgumentOutOfRangeException(column,
                        $"The ONNX input '{input.Name}' column '{column}' has {(count == 0 ? "a variable number of" : count.ToString())} values per row ({col.Type}); " +
                        $"the graph expects {n} ([{string.Join(", ", input.Dims)}]).");
            }
            var adapted = Adapt(columnTypes);
            using (var log = new RankerLog(_context, "Onnx"))
                log.Info($"ONNX network: inputs [{string.Join("; ", _graphInputs.Select(i => $"{i} <- column '{ColumnOf(i)}' ({columnTypes[i.Name]})"))}], " +
                         $"outputs [{string.Join(", ", OutputColumnNames())}]; {(ReferenceEquals(adapted, _options.Model) ? "graph used as is" : "graph adapted to the columns")}.");
            var onnx = OnnxTransformerFactory.Create(_context, adapted, OutputColumnNames().ToArray(), _graphInputs.Select(ColumnOf).ToArray(),
                inputSchema, out var file, _options.IntraOpNumThreads, _options.InterOpNumThreads);
            var (inputs, outputs) = OnnxModelProto.ReadSignature(adapted);
            return new OnnxNetworkTransformer(onnx, adapted, inputs, outputs, file);
        }

        private SchemaShape OnnxOutputSchema(byte[] model, SchemaShape input, DataViewSchema columns)
            => OnnxTransformerFactory.GetOutputSchema(_context, model, OutputColumnNames().ToArray(), _graphInputs.Select(ColumnOf).ToArray(),
                input, columns, _options.IntraOpNumThreads, _options.InterOpNumThreads);

        private string ColumnOf(OnnxTensorSpec input)
            => _options.InputColumns != null && _options.InputColumns.TryGetValue(input.Name, out var c) ? c : input.Name;

        private List<string> OutputColumnNames()
            => _graphOutputs.Select(o => _options.OutputColumns != null && _options.OutputColumns.TryGetValue(o.Name, out var c) ? c : o.Name).ToList();

        private byte[] Adapt(Dictionary<string, TensorElementType> columnTypes)
        {
            var inputColumns = _graphInputs.ToDictionary(i => i.Name, ColumnOf);
            var outputColumns = _graphOutputs.Select((o, k) => (o.Name, Column: OutputColumnNames()[k])).ToDictionary(p => p.Name, p => p.Column);
            if (inputColumns.All(p => p.Key == p.Value) && outputColumns.All(p => p.Key == p.Value)
                && _graphInputs.All(i => columnTypes[i.Name] == i.ElementType))
                return _options.Model;
            return OnnxModelProto.Adapt(_options.Model, inputColumns, columnTypes, outputColumns);
        }

        private static string Expected(OnnxTensorSpec input)
        {
            long n = input.ValuesPerRow;
            string values = n == 1 ? "a scalar or a known-size vector of 1 value" : n > 0 ? $"a known-size vector of {n} values" : "a vector";
            return $"{values} of {input.ElementType} (or a numeric type converted to it) for ONNX input [{string.Join(", ", input.Dims)}]";
        }

        private static bool Accepts(OnnxTensorSpec input, SchemaShape.Column c)
        {
            var t = ElementTypeOf(c.ItemType);
            if (t is null || !Convertible(t.Value, input.ElementType))
                return false;
            long n = input.ValuesPerRow;
            return c.Kind switch
            {
                SchemaShape.Column.VectorKind.Scalar => n == 1,
                SchemaShape.Column.VectorKind.Vector => n != 0,
                _ => n < 0,
            };
        }

        private static bool Accepts(OnnxTensorSpec input, DataViewType type)
        {
            var t = ElementTypeOf(ItemOf(type));
            if (t is null || !Convertible(t.Value, input.ElementType))
                return false;
            long n = input.ValuesPerRow;
            if (type is VectorDataViewType v)
                return v.IsKnownSize ? n != 0 : n < 0;
            return n == 1;
        }

        private static DataKind RawKind(DataViewType keyType)
        {
            var raw = keyType.RawType;
            if (raw == typeof(byte)) return DataKind.Byte;
            if (raw == typeof(ushort)) return DataKind.UInt16;
            if (raw == typeof(ulong)) return DataKind.UInt64;
            return DataKind.UInt32;
        }

        private static DataViewType ItemOf(DataViewType type) => type is VectorDataViewType v ? v.ItemType : type;

        private static bool Convertible(TensorElementType from, TensorElementType to)
            => from == to || (from != TensorElementType.String && to != TensorElementType.String);

        /// <summary>The ONNX element type of an ML.NET item type (keys map to their raw type); null when there is none.</summary>
        internal static TensorElementType? ElementTypeOf(DataViewType itemType)
        {
            if (itemType is KeyDataViewType || itemType is NumberDataViewType || itemType is BooleanDataViewType || itemType is TextDataViewType)
            {
                var raw = itemType.RawType;
                if (raw == typeof(float)) return TensorElementType.Float;
                if (raw == typeof(double)) return TensorElementType.Double;
                if (raw == typeof(sbyte)) return TensorElementType.Int8;
                if (raw == typeof(byte)) return TensorElementType.UInt8;
                if (raw == typeof(short)) return TensorElementType.Int16;
                if (raw == typeof(ushort)) return TensorElementType.UInt16;
                if (raw == typeof(int)) return TensorElementType.Int32;
                if (raw == typeof(uint)) return TensorElementType.UInt32;
                if (raw == typeof(long)) return TensorElementType.Int64;
                if (raw == typeof(ulong)) return TensorElementType.UInt64;
                if (raw == typeof(bool)) return TensorElementType.Bool;
                if (raw == typeof(ReadOnlyMemory<char>)) return TensorElementType.String;
            }
            return null;
        }

        private static PrimitiveDataViewType ItemTypeOf(TensorElementType t) => t switch
        {
            TensorElementType.Float => NumberDataViewType.Single,
            TensorElementType.Double => NumberDataViewType.Double,
            TensorElementType.Int8 => NumberDataViewType.SByte,
            TensorElementType.UInt8 => NumberDataViewType.Byte,
            TensorElementType.Int16 => NumberDataViewType.Int16,
            TensorElementType.UInt16 => NumberDataViewType.UInt16,
            TensorElementType.Int32 => NumberDataViewType.Int32,
            TensorElementType.UInt32 => NumberDataViewType.UInt32,
            TensorElementType.Int64 => NumberDataViewType.Int64,
            TensorElementType.UInt64 => NumberDataViewType.UInt64,
            TensorElementType.Bool => BooleanDataViewType.Instance,
            TensorElementType.String => TextDataViewType.Instance,
            _ => throw new NotSupportedException($"ONNX element type {t} has no ML.NET column type."),
        };
    }
}
