using System;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Microsoft.ML.Transforms.Onnx;

namespace MLNetRank.Onnx
{
    /// <summary>Options of <see cref="RequestScorer"/>.</summary>
    public sealed class RequestScorerOptions
    {
        /// <summary>ONNX Runtime intra-op threads per call (default 1: a server scores many requests in parallel, one per core).</summary>
        public int IntraOpNumThreads { get; set; } = 1;

        /// <summary>ONNX Runtime inter-op threads (default 1).</summary>
        public int InterOpNumThreads { get; set; } = 1;

        /// <summary>The ML.NET context that loads the model's transforms (default: a new <see cref="MLContext"/>).</summary>
        public MLContext? Context { get; set; }
    }

    /// <summary>
    /// The serving fast path: opens a saved ML.NET model zip whose chain ends in (or contains) an ONNX network
    /// (an <see cref="OnnxTransformer"/>), and scores a request of N candidate rows with ONE batched ONNX Runtime call,
    /// where ML.NET's <see cref="OnnxTransformer"/> calls ONNX Runtime once per row. The outputs equal ML.NET's.
    /// </summary>
    /// <remarks>
    /// <para>The network is the last <see cref="OnnxTransformer"/> of the chain; its bytes are read from the zip (entry
    /// <c>OnnxModel</c>). The transforms before it (the "prefix", e.g. <c>Concatenate</c> or a normalizer) run through
    /// ML.NET's own row mapper, row by row, with no allocation per row; when there are none, the request's buffers are the
    /// network's input tensors and nothing is copied. Transforms after the network are not applied
    /// (<see cref="SkippedTransformCount"/>): the outputs are the network's outputs.</para>
    /// <para>The scorer is thread-safe: one <see cref="ScoringRequest"/> per concurrent caller (<see cref="CreateRequest"/>).</para>
    /// <code>
    /// using var scorer = RequestScorer.Open("model.zip");
    /// using var request = scorer.CreateRequest(capacity: 256);
    /// request.Count = 200;
    /// for (int i = 0; i &lt; 200; i++) { request.SetValues("Features", i, features[i]); request.SetValue("UserId", i, userId); }
    /// scorer.Score(request);
    /// ReadOnlySpan&lt;float&gt; p = request.GetOutput&lt;float&gt;("ClickProbability");
    /// </code>
    /// </remarks>
    public sealed class RequestScorer : IDisposable
    {
        private readonly InferenceSession _session;
        private readonly RunOptions _runOptions = new RunOptions();
        private readonly ITransformer? _prefix;
        private readonly MLContext _context;
        private readonly string[] _inputNames;
        private readonly string[] _outputNames;
        private readonly object _positionLock = new object();
        private long _nextPosition;

        private RequestScorer(MLContext context, DataViewSchema inputSchema, List<ITransformer> prefix, int skipped, byte[] onnx, RequestScorerOptions options)
        {
            _context = context;
            InputSchema = inputSchema;
            SkippedTransformCount = skipped;
            var (inputs, outputs) = OnnxModelProto.ReadSignature(onnx);
            var sessionOptions = new SessionOptions
            {
                IntraOpNumThreads = options.IntraOpNumThreads,
                InterOpNumThreads = options.InterOpNumThreads,
                ExecutionMode = ExecutionMode.ORT_SEQUENTIAL,
                GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            };
            using (sessionOptions)
                _session = new InferenceSession(onnx, sessionOptions);
            try
            {
                NetworkInputSpecs = inputs;
                NetworkOutputSpecs = outputs;
                NetworkInputTypes = inputs.Select(i => ClrType(i, "input")).ToArray();
                NetworkOutputTypes = outputs.Select(o => ClrType(o, "output")).ToArray();
                foreach (var o in outputs)
                    if (!o.HasBatchDimension || o.ValuesPerRow <= 0)
                        throw new NotSupportedException($"Network output {o} needs a leading batch dimension and known other dimensions for batched scoring.");
                foreach (var i in inputs)
                    if (!i.HasBatchDimension || i.ValuesPerRow <= 0)
                        throw new NotSupportedException($"Network input {i} needs a leading batch dimension and known other dimensions for batched scoring.");
                _inputNames = inputs.Select(i => i.Name).ToArray();
                _outputNames = outputs.Select(o => o.Name).ToArray();

                if (prefix.Count > 0)
                {
                    _prefix = new TransformerChain<ITransformer>(prefix.ToArray());
                    if (!_prefix.IsRowToRowMapper)
                        throw new NotSupportedException("A transform before the ONNX network is not a row-to-row mapper; the request scorer cannot apply it.");
                    var mapper = CreatePrefixMapper();
                    var needed = new List<DataViewSchema.Column>();
                    foreach (var i in inputs)
                    {
                        var col = mapper.OutputSchema.GetColumnOrNull(i.Name)
                            ?? throw new InvalidDataException($"The model's transforms do not produce the network input column '{i.Name}'.");
                        CheckNetworkColumn(i, col.Type, NetworkInputTypes[Array.IndexOf(_inputNames, i.Name)]);
                        needed.Add(col);
                    }
                    RequestColumns = mapper.GetDependencies(needed).Select(c => RequestColumnOf(c.Name, c.Type)).ToArray();
                }
                else
                {
                    RequestColumns = inputs.Select((i, k) =>
                    {
                        var col = inputSchema.GetColumnOrNull(i.Name)
                            ?? throw new InvalidDataException($"The model's input schema has no column '{i.Name}' for the network input.");
                        CheckNetworkColumn(i, col.Type, NetworkInputTypes[k]);
                        return RequestColumnOf(i.Name, col.Type);
                    }).ToArray();
                }
            }
            catch
            {
                _session.Dispose();
                throw;
            }
        }

        /// <summary>Opens a model saved with <c>mlContext.Model.Save</c>.</summary>
        /// <param name="path">The model zip.</param>
        /// <param name="options">Options (threads, context); null for the defaults.</param>
        /// <exception cref="FileNotFoundException">No file at <paramref name="path"/>.</exception>
        /// <exception cref="InvalidDataException">The file is not a readable ML.NET model zip (corrupt, truncated) or its ONNX part cannot be found.</exception>
        /// <exception cref="InvalidOperationException">The model has no ONNX network.</exception>
        public static RequestScorer Open(string path, RequestScorerOptions? options = null)
        {
            if (string.IsNullOrEmpty(path))
                throw new ArgumentException("A model path is needed.", nameof(path));
            if (!File.Exists(path))
                throw new FileNotFoundException($"Model file '{path}' not found.", path);
            return Open(File.ReadAllBytes(path), path, options);
        }

        /// <summary>Opens a model zip from a stream (read to its end).</summary>
        /// <param name="zip">The model zip's bytes.</param>
        /// <param name="options">Options (threads, context); null for the defaults.</param>
        public static RequestScorer Open(Stream zip, RequestScorerOptions? options = null)
        {
            if (zip is null)
                throw new ArgumentNullException(nameof(zip));
            using var copy = new MemoryStream();
            zip.CopyTo(copy);
            return Open(copy.ToArray(), "the stream", options);
        }

        private static RequestScorer Open(byte[] zipBytes, string source, RequestScorerOptions? options)
        {
            options ??= new RequestScorerOptions();
            if (options.IntraOpNumThreads < 0 || options.InterOpNumThreads < 0)
                throw new ArgumentOutOfRangeException(nameof(options), "Thread counts must be >= 0 (0: ONNX Runtime's default).");
            var context = options.Context ?? new MLContext();

            // The ONNX models stored by OnnxTransformer (binary stream "OnnxModel": int32 length + bytes), in save order.
            var onnxModels = new List<byte[]>();
            try
            {
                using var archive = new ZipArchive(new MemoryStream(zipBytes), ZipArchiveMode.Read);
                foreach (var entry in archive.Entries)
                {
                    if (entry.Name != "OnnxModel")
                        continue;
                    using var s = entry.Open();
                    using var reader = new BinaryReader(s);
                    int length = reader.ReadInt32();
                    byte[] bytes = reader.ReadBytes(length);
                    if (length <= 0 || bytes.Length != length)
                        throw new InvalidDataException($"Zip entry '{entry.FullName}' is truncated: {bytes.Length} of {length} ONNX bytes.");
                    onnxModels.Add(bytes);
                }
            }
            catch (Exception e) when (e is InvalidDataException or EndOfStreamException or IOException)
            {
                throw new InvalidDataException($"{source} is not a readable ML.NET model zip: {e.Message}", e);
            }

            ITransformer model;
            DataViewSchema inputSchema;
            try
            {
                model = context.Model.Load(new MemoryStream(zipBytes), out inputSchema);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                throw new InvalidDataException($"ML.NET could not load the model in {source}: {e.Message}", e);
            }

            var flat = new List<ITransformer>();
            Flatten(model, flat);
            int last = flat.FindLastIndex(t => t is OnnxTransformer);
            if (last < 0)
            {
                (model as IDisposable)?.Dispose();
                throw new InvalidOperationException(
                    $"The model in {source} has no ONNX network (OnnxTransformer); its transforms: {string.Join(", ", flat.Select(t => t.GetType().Name))}.");
            }
            int count = flat.Count(t => t is OnnxTransformer);
            if (onnxModels.Count != count)
                throw new InvalidDataException($"The model in {source} has {count} ONNX transformers but {onnxModels.Count} 'OnnxModel' zip entries.");
            // The prefix keeps its own OnnxTransformers (scored per row by ML.NET); the network's session is ours.
            var prefix = flat.Take(last).ToList();
            for (int i = last; i < flat.Count; i++)
                if (i == last || !prefix.Contains(flat[i]))
                    (flat[i] as IDisposable)?.Dispose();
            var scorer = new RequestScorer(context, inputSchema, prefix, flat.Count - last - 1, onnxModels[count - 1], options);
            using (var log = new Common.RankerLog(context, "Onnx"))
                log.Info($"Request scorer on {source}: network inputs [{string.Join("; ", scorer.NetworkInputs)}], outputs [{string.Join("; ", scorer.NetworkOutputs)}], " +
                         $"{prefix.Count} ML.NET transform(s) before the network, {scorer.SkippedTransformCount} after it not applied, " +
                         $"{options.IntraOpNumThreads} intra-op thread(s).");
            return scorer;
        }

        private static void Flatten(ITransformer t, List<ITransformer> into)
        {
            if (t is IEnumerable<ITransformer> chain)
                foreach (var inner in chain)
                    Flatten(inner, into);
            else
                into.Add(t);
        }

        /// <summary>The model's input schema (as saved).</summary>
        public DataViewSchema InputSchema { get; }

        /// <summary>The columns a request carries: the network inputs, or, when ML.NET transforms run before the network, the input columns they read.</summary>
        public IReadOnlyList<RequestColumn> RequestColumns { get; }

        /// <summary>The network's inputs (ONNX names = ML.NET column names).</summary>
        public IReadOnlyList<OnnxTensorSpec> NetworkInputs => NetworkInputSpecs;

        /// <summary>The network's outputs (read them with <see cref="ScoringRequest.GetOutput{T}"/>).</summary>
        public IReadOnlyList<OnnxTensorSpec> NetworkOutputs => NetworkOutputSpecs;

        /// <summary>True when ML.NET transforms run before the network (row by row, through ML.NET's row mapper).</summary>
        public bool HasPrefix => _prefix != null;

        /// <summary>The number of transforms after the network in the saved chain; the scorer does not apply them.</summary>
        public int SkippedTransformCount { get; }

        internal OnnxTensorSpec[] NetworkInputSpecs { get; }
        internal OnnxTensorSpec[] NetworkOutputSpecs { get; }
        internal Type[] NetworkInputTypes { get; }
        internal Type[] NetworkOutputTypes { get; }

        /// <summary>A request of up to <paramref name="capacity"/> rows, with its own reusable buffers.</summary>
        /// <param name="capacity">The most candidates a request will hold.</param>
        public ScoringRequest CreateRequest(int capacity)
        {
            if (capacity <= 0)
                throw new ArgumentOutOfRangeException(nameof(capacity), $"A request needs a positive capacity; got {capacity}.");
            return new ScoringRequest(this, capacity);
        }

        /// <summary>
        /// Scores rows <c>0..Count-1</c> of <paramref name="request"/>: applies the transforms before the network (if any),
        /// then runs the network once on the whole batch. Read the results with <see cref="ScoringRequest.GetOutput{T}"/>.
        /// </summary>
        /// <param name="request">A request created by this scorer.</param>
        public void Score(ScoringRequest request)
        {
            if (request is null)
                throw new ArgumentNullException(nameof(request));
            if (!ReferenceEquals(request.Scorer, this))
                throw new ArgumentException("The request was created by another scorer.", nameof(request));
            int n = request.Count;
            if (n == 0)
                return;
            if (request.Feeders != null)
            {
                var row = request.Row!;
                long position;
                lock (_positionLock)
                {
                    position = _nextPosition;
                    _nextPosition += n;
                }
                var feeders = request.Feeders;
                for (int r = 0; r < n; r++)
                {
                    row.Index = r;
                    row.RowPosition = position + r;
                    for (int k = 0; k < feeders.Length; k++)
                        feeders[k](r);
                }
            }
            var (inputs, outputs) = request.OrtValues();
            _session.Run(_runOptions, _inputNames, inputs, _outputNames, outputs);
        }

        internal IRowToRowMapper CreatePrefixMapper() => _prefix!.GetRowToRowMapper(InputSchema);

        /// <summary>Releases the ONNX Runtime session and the loaded transforms.</summary>
        public void Dispose()
        {
            _session.Dispose();
            _runOptions.Dispose();
            if (_prefix is IEnumerable<ITransformer> chain)
                foreach (var t in chain)
                    (t as IDisposable)?.Dispose();
        }

        private static RequestColumn RequestColumnOf(string name, DataViewType type)
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

        private static void CheckNetworkColumn(OnnxTensorSpec input, DataViewType type, Type clr)
        {
            var item = type is VectorDataViewType v ? v.ItemType : type;
            int width = type is VectorDataViewType vt ? vt.Size : 1;
            if (item.RawType != clr)
                throw new InvalidDataException($"Column '{input.Name}' has type {type}; the network input {input} needs {clr.Name} values.");
            if (width != input.ValuesPerRow)
                throw new InvalidDataException($"Column '{input.Name}' has {(width == 0 ? "a variable number of" : width.ToString())} values per row; the network input {input} needs {input.ValuesPerRow}.");
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
    }
}
