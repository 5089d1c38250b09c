using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Microsoft.ML.Transforms.Onnx;
using MLNetRank.Onnx;

namespace MLNetRank.Serving
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

        /// <summary>
        /// Evaluate the blocks that have a native kernel natively instead of in ONNX Runtime (default true). Today: the V4
        /// live-stream transformer (MLNetRank.Torch's <c>TransformerPooling</c>, summary-token output, embedding dimension a
        /// multiple of 16 up to 64, head dimension a multiple of 4, feed-forward size a multiple of 16), which the trainer's
        /// export records in the ONNX model's metadata. The scorer then cuts the graph at the block's output, computes the
        /// block with managed AVX-512 / AVX2 code (scalar code on other CPUs) and lets ONNX Runtime run the rest. The outputs
        /// equal the ONNX path's to 1e-5 (tested; float rounding differs, ~1e-6). A model without such a block, or with a
        /// configuration the kernel does not support, is scored by ONNX Runtime alone, as with false
        /// (<see cref="RequestScorer.NativeBlocks"/> lists what runs natively).
        /// </summary>
        public bool NativeKernels { get; set; } = true;

        /// <summary>
        /// The most rooms whose transformer work that depends on the room alone (the first layer's query/key/value projections
        /// of its summary and room tokens, keyed by the room's token ids per token type) is cached across requests, per native
        /// block; 0 (the default) turns the cache off. An entry is 3 x d x (the room's tokens rounded up to the kernel's 16 or
        /// 8 lanes) floats (3 KB at d = 16 with up to 15 room tokens: 12 MB for 4096 rooms); when the cache is full it is
        /// emptied and refills. Thread-safe; a cached room scores exactly as an uncached one. Only with
        /// <see cref="NativeKernels"/> and a transformer of 2 layers or more. Off by default because it saved no measurable
        /// time in the project's latency bench (d = 16: the projections it saves are about 8% of a candidate's work, and a
        /// lookup plus reading the entry from memory cost about as much; see docs/benchmarks-sequences.md).
        /// </summary>
        public int RoomCacheCapacity { get; set; }
    }

    /// <summary>
    /// The serving fast path: opens a saved ML.NET model zip whose chain contains ONNX networks
    /// (<see cref="OnnxTransformer"/>s), and scores a request of N candidate rows with ONE batched ONNX Runtime call per
    /// network, where ML.NET's <see cref="OnnxTransformer"/> calls ONNX Runtime once per row. The outputs equal ML.NET's
    /// (to 1e-5 where a block is evaluated natively: <see cref="RequestScorerOptions.NativeKernels"/>).
    /// </summary>
    /// <remarks>
    /// <para>Each <see cref="OnnxTransformer"/> of the chain is a stage; its bytes are read from the zip (entries
    /// <c>OnnxModel</c>, in chain order) and it runs in its own ONNX Runtime session. The ML.NET transforms before and
    /// between the networks (e.g. <c>Concatenate</c> or a normalizer) run through ML.NET's own row mapper, row by row,
    /// with no allocation per row, computing only the columns later stages read; where a network reads request columns
    /// or another network's outputs, those buffers are its input tensors and nothing is copied. A network input with a
    /// variable (sequence) dimension is batched per group of rows of equal length (exact, no padding). Transforms after
    /// the last network also run row by row; <see cref="OutputColumns"/> lists what a request can read.</para>
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
        private readonly RunOptions _runOptions = new RunOptions();
        private readonly object _positionLock = new object();
        private long _nextPosition;

        private RequestScorer(DataViewSchema inputSchema, ScoringPlan plan)
        {
            InputSchema = inputSchema;
            Plan = plan;
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
            if (options.RoomCacheCapacity < 0)
                throw new ArgumentOutOfRangeException(nameof(options), $"RequestScorerOptions.RoomCacheCapacity must be >= 0 (0 = no room cache); got {options.RoomCacheCapacity}.");
            var context = options.Context ?? new MLContext();

            // The ONNX models stored by OnnxTransformer, in save order.
            var onnxModels = ModelZip.ReadOnnxModels(new MemoryStream(zipBytes), source).Select(m => m.Bytes).ToList();

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
            var networks = Enumerable.Range(0, flat.Count).Where(i => flat[i] is OnnxTransformer).ToArray();
            if (networks.Length == 0)
            {
                (model as IDisposable)?.Dispose();
                throw new InvalidOperationException(
                    $"The model in {source} has no ONNX network (OnnxTransformer); its transforms: {string.Join(", ", flat.Select(t => t.GetType().Name))}.");
            }
            if (onnxModels.Count != networks.Length)
            {
                (model as IDisposable)?.Dispose();
                throw new InvalidDataException($"The model in {source} has {networks.Length} ONNX transformers but {onnxModels.Count} 'OnnxModel' zip entries.");
            }

            var stages = new List<ScoringStage>();
            try
            {
                var schema = inputSchema;
                int previous = -1;
                for (int k = 0; k < networks.Length; k++)
                {
                    var segmentTransforms = flat.Skip(previous + 1).Take(networks[k] - previous - 1).ToArray();
                    ITransformer? segment = segmentTransforms.Length == 0 ? null : new TransformerChain<ITransformer>(segmentTransforms);
                    var segmentOutput = segment?.GetOutputSchema(schema) ?? schema;
                    var networkOutput = flat[networks[k]].GetOutputSchema(segmentOutput);
                    stages.Add(new ScoringStage(k, segment, schema, onnxModels[k], networkOutput, options));
                    schema = networkOutput;
                    previous = networks[k];
                }
            }
            catch
            {
                foreach (var stage in stages)
                    stage.Dispose();
                foreach (var t in flat)
                    (t as IDisposable)?.Dispose();
                throw;
            }
            // The networks' own OnnxTransformers are not used (each stage has its own session).
            foreach (int i in networks)
                (flat[i] as IDisposable)?.Dispose();
            var tailTransforms = flat.Skip(networks[^1] + 1).ToArray();
            RequestScorer scorer;
            try
            {
                ITransformer? tail = null;
                if (tailTransforms.Length > 0)
                {
                    tail = new TransformerChain<ITransformer>(tailTransforms);
                    if (!tail.IsRowToRowMapper)
                        throw new NotSupportedException("A transform after the last ONNX network is not a row-to-row mapper; the request scorer cannot apply it.");
                }
                var lastOutput = flat[networks[^1]].GetOutputSchema(stages[^1].SegmentOutputSchema);
                scorer = new RequestScorer(inputSchema, new ScoringPlan(inputSchema, stages.ToArray(), tail, lastOutput));
            }
            catch
            {
                foreach (var stage in stages)
                    stage.Dispose();
                foreach (var t in tailTransforms)
                    (t as IDisposable)?.Dispose();
                throw;
            }
            using (var log = new Common.RankerLog(context, "Onnx"))
                log.Info($"Request scorer on {source}: {stages.Count} ONNX network(s) run batched, {flat.Count - networks.Length} ML.NET transform(s) run row by row; " +
                         $"request columns [{string.Join("; ", scorer.RequestColumns)}], outputs [{string.Join("; ", scorer.OutputColumns)}]; " +
                         $"{options.IntraOpNumThreads} intra-op thread(s); evaluated natively: [{string.Join("; ", scorer.NativeBlocks)}]" +
                         string.Concat(stages.SelectMany(s => s.NativeSkipped).Select(m => " " + m)));
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
        public IReadOnlyList<RequestColumn> RequestColumns => Plan.RequestColumns;

        /// <summary>The inputs of the last ONNX network of the chain (ONNX names = ML.NET column names).</summary>
        public IReadOnlyList<OnnxTensorSpec> NetworkInputs => Plan.LastStage.NetworkInputs;

        /// <summary>The outputs of the last ONNX network (read them with <see cref="ScoringRequest.GetOutput{T}"/>).</summary>
        public IReadOnlyList<OnnxTensorSpec> NetworkOutputs => Plan.LastStage.Outputs;

        /// <summary>The blocks evaluated natively (<see cref="RequestScorerOptions.NativeKernels"/>), by the name of the tensor
        /// each outputs in its ONNX network; empty when ONNX Runtime runs every network whole.</summary>
        public IReadOnlyList<string> NativeBlocks => Plan.Steps.SelectMany(s => s.Stage.Natives.Select(n => n.Output)).ToArray();

        /// <summary>The number of ONNX networks in the chain; each runs once per request, batched.</summary>
        public int NetworkCount => Plan.Steps.Length;

        /// <summary>True when anything runs before the last network: ML.NET transforms (row by row, through ML.NET's row mapper) or other networks.</summary>
        public bool HasPrefix => Plan.Steps.Length > 1 || Plan.Steps[0].Stage.Segment != null;

        /// <summary>
        /// What <see cref="ScoringRequest.GetOutput{T}"/> can read: every network's outputs, and the visible known-size columns that
        /// the transforms after the last network add (e.g. a renamed score, an <c>Expression</c>, GBDT leaf ids).
        /// </summary>
        public IReadOnlyList<RequestColumn> OutputColumns => Plan.OutputColumns;

        /// <summary>The immutable execution plan every request is laid out from.</summary>
        internal ScoringPlan Plan { get; }

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
            request.ThrowIfDisposed();
            int n = request.Count;
            if (n == 0)
                return;
            long position;
            lock (_positionLock)
            {
                position = _nextPosition;
                _nextPosition += n;
            }
            foreach (var run in request.Runs)
            {
                if (run.Loaders.Length > 0)
                {
                    var row = run.Row!;
                    var loaders = run.Loaders;
                    for (int r = 0; r < n; r++)
                    {
                        row.Index = r;
                        row.RowPosition = position + r;
                        for (int k = 0; k < loaders.Length; k++)
                            loaders[k](r);
                    }
                }
                run.Execute(_runOptions, n);
            }
            if (request.TailLoaders.Length > 0)
            {
                var row = request.TailRow!;
                var loaders = request.TailLoaders;
                for (int r = 0; r < n; r++)
                {
                    row.Index = r;
                    row.RowPosition = position + r;
                    for (int k = 0; k < loaders.Length; k++)
                        loaders[k](r);
                }
            }
        }

        /// <summary>
        /// Scores every row of <paramref name="data"/> in batches of <paramref name="batchSize"/> rows (offline evaluation at
        /// the fast path's speed). Returns each network output as a row-major array (<c>rows x width</c>) of its element
        /// type, e.g. <c>float[]</c>, keyed by output name.
        /// </summary>
        /// <param name="data">Rows with the request columns (<see cref="RequestColumns"/>).</param>
        /// <param name="batchSize">Rows per ONNX Runtime call.</param>
        public IReadOnlyDictionary<string, Array> ScoreAll(IDataView data, int batchSize = 256)
        {
            if (data is null)
                throw new ArgumentNullException(nameof(data));
            using var request = CreateRequest(batchSize);
            var columns = OutputColumns;
            var chunks = columns.Select(_ => new List<Array>()).ToArray();
            long rows = 0;
            using (var reader = request.OpenReader(data))
            {
                bool more = true;
                while (more)
                {
                    more = reader.Next();
                    if (request.Count == 0)
                        break;
                    Score(request);
                    rows += request.Count;
                    for (int k = 0; k < chunks.Length; k++)
                    {
                        var source = request.OutputArray(columns[k].Name);
                        var copy = Array.CreateInstance(columns[k].RawItemType, request.Count * columns[k].ValuesPerRow);
                        Array.Copy(source, copy, copy.Length);
                        chunks[k].Add(copy);
                    }
                }
            }
            var result = new Dictionary<string, Array>(StringComparer.Ordinal);
            for (int k = 0; k < chunks.Length; k++)
            {
                var all = Array.CreateInstance(columns[k].RawItemType, checked((int)(rows * columns[k].ValuesPerRow)));
                int offset = 0;
                foreach (var chunk in chunks[k])
                {
                    Array.Copy(chunk, 0, all, offset, chunk.Length);
                    offset += chunk.Length;
                }
                result[columns[k].Name] = all;
            }
            return result;
        }

        /// <summary>Releases the ONNX Runtime sessions and the loaded transforms.</summary>
        public void Dispose()
        {
            Plan.Dispose();
            _runOptions.Dispose();
        }
    }
}
