using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetRank.Common;

namespace MLNetRank.Graph
{
    /// <summary>
    /// Learns metapath2vec / metapath2vec++ node embeddings (Dong, Chawla and Swami, KDD 2017) on a heterogeneous graph
    /// and maps id columns to them.
    /// </summary>
    /// <remarks>
    /// <format type="text/markdown"><![CDATA[
    /// ### Estimator Characteristics
    /// |  |  |
    /// | -- | -- |
    /// | Does this estimator need to look at the data to train its parameters? | Yes: the edges table given to the catalog (the data passed to Fit only gives the id column types) |
    /// | Input column data type | Scalar String, UInt32, Int32, UInt64 or Int64 (node ids) |
    /// | Output column data type | Known-size vector of Single (`Dimension`); optional Boolean `<output>Known` |
    /// | Required NuGet in addition to Microsoft.ML | MLNetRank (to train); none to load and score |
    /// | Exportable to ONNX | No |
    /// | Saved as | Built-in `ValueMapping` + `DropColumns` transformers |
    ///
    /// The graph is read from the edges table (source id, source type, target id, target type, optional weight) and
    /// stored as one CSR per ordered pair of node types; edges are undirected. Walks follow each metapath cyclically and
    /// stop at a dead end (a node with no neighbour of the next type), as in the paper. Skip-gram with negative sampling
    /// is trained with lock-free multi-threaded SGD; with `NumberOfThreads = 1` training is bit-for-bit deterministic.
    /// Ids the walks never visited (or absent from the graph) get the default vector (`UnseenEmbedding`: zeros or the
    /// type mean) and, with `AddKnownIndicator`, `Known = false`.
    /// ]]></format>
    /// </remarks>
    public sealed partial class Metapath2VecEstimator : IEstimator<Metapath2VecTransformer>
    {
        private readonly MLContext _context;
        private readonly IDataView _edges;
        private readonly Metapath2VecEstimator.Options _options;
        private readonly InputOutputColumnPair[] _columns;
        private readonly Metapath[] _metapaths;

        internal Metapath2VecEstimator(MLContext context, IDataView edges, Metapath2VecEstimator.Options options, InputOutputColumnPair[] columns)
        {
            _context = context ?? throw new ArgumentNullException(nameof(context));
            _edges = edges ?? throw new ArgumentNullException(nameof(edges));
            _options = options ?? throw new ArgumentNullException(nameof(options));
            // No column: a graph-only fit (FitGraph), for users who want the embeddings, not a lookup transform.
            columns ??= Array.Empty<InputOutputColumnPair>();
            options.Validate();
            _columns = columns;
            _metapaths = options.Metapaths.Select(Metapath.Parse).ToArray();
            var outputs = new HashSet<string>(StringComparer.Ordinal);
            foreach (var c in columns)
            {
                if (c is null || string.IsNullOrEmpty(c.OutputColumnName) || string.IsNullOrEmpty(c.InputColumnName))
                    throw new ArgumentException("Every column pair needs an output and an input column name.", nameof(columns));
                if (!outputs.Add(c.OutputColumnName))
                    throw new ArgumentException($"The output column '{c.OutputColumnName}' is given twice.", nameof(columns));
                NodeTypeOf(c.InputColumnName);
            }
            // Edge table columns are checked now, not when a cursor reaches a row.
            var s = edges.Schema;
            Check.Column(s, options.SourceIdColumnName, "source id", "text or an integer type", HeterogeneousGraph.IsIdType);
            Check.Column(s, options.TargetIdColumnName, "target id", "text or an integer type", HeterogeneousGraph.IsIdType);
            Check.Column(s, options.SourceTypeColumnName, "source type", "text (String)", t => t is TextDataViewType);
            Check.Column(s, options.TargetTypeColumnName, "target type", "text (String)", t => t is TextDataViewType);
            if (!string.IsNullOrEmpty(options.WeightColumnName))
                Check.Column(s, options.WeightColumnName, "weight", "Single", t => t == NumberDataViewType.Single);
        }

        /// <summary>The node type an input column maps to (see <see cref="Metapath2VecEstimator.Options.ColumnNodeTypes"/>).</summary>
        private string NodeTypeOf(string inputColumn)
        {
            var types = _metapaths.SelectMany(m => m.Types).Distinct(StringComparer.Ordinal).ToList();
            if (_options.ColumnNodeTypes is not null && _options.ColumnNodeTypes.TryGetValue(inputColumn, out var explicitType))
            {
                if (!types.Contains(explicitType, StringComparer.Ordinal))
                    throw new ArgumentOutOfRangeException(inputColumn,
                        $"Column '{inputColumn}' is mapped to node type '{explicitType}', which no metapath visits; the metapaths visit {string.Join(", ", types)}.");
                return explicitType;
            }
            string stem = inputColumn.EndsWith("Id", StringComparison.OrdinalIgnoreCase) && inputColumn.Length > 2 ? inputColumn[..^2] : inputColumn;
            var match = types.FirstOrDefault(t => string.Equals(t, stem, StringComparison.OrdinalIgnoreCase))
                        ?? types.FirstOrDefault(t => string.Equals(t, inputColumn, StringComparison.OrdinalIgnoreCase));
            return match ?? throw new ArgumentOutOfRangeException(inputColumn,
                $"Column '{inputColumn}' does not name a node type that a metapath visits ({string.Join(", ", types)}); " +
                "name the column after the type (e.g. UserId for User) or map it in Metapath2VecEstimator.Options.ColumnNodeTypes.");
        }

        private List<Metapath2VecSavedForm.ColumnPlan> Plans(Func<string, (DataViewType ItemType, bool Scalar)?> find)
        {
            var plans = new List<Metapath2VecSavedForm.ColumnPlan>();
            foreach (var c in _columns)
            {
                var col = find(c.InputColumnName) ?? throw new ArgumentOutOfRangeException(c.InputColumnName,
                    $"The id column '{c.InputColumnName}' was not found in the input schema; expected {Metapath2VecSavedForm.SupportedTypes}.");
                var keyType = col.Scalar ? Metapath2VecSavedForm.KeyTypeOf(col.ItemType) : null;
                if (keyType is null)
                    throw new ArgumentOutOfRangeException(c.InputColumnName,
                        $"The id column '{c.InputColumnName}' has type {(col.Scalar ? col.ItemType.ToString() : "Vector<" + col.ItemType + ">")}; expected {Metapath2VecSavedForm.SupportedTypes}.");
                plans.Add(new Metapath2VecSavedForm.ColumnPlan { Output = c.OutputColumnName, Input = c.InputColumnName, NodeType = NodeTypeOf(c.InputColumnName), KeyType = keyType });
            }
            return plans;
        }

        /// <summary>The output schema: each output column is a vector of <see cref="Metapath2VecEstimator.Options.Dimension"/> Single (and optionally a Boolean "Known" column).</summary>
        public SchemaShape GetOutputSchema(SchemaShape inputSchema)
        {
            var plans = Plans(name =>
            {
                var c = inputSchema.FirstOrDefault(x => x.Name == name);
                if (c.Name is null)
                    return null;
                return (c.IsKey ? new KeyDataViewType(typeof(uint), 1) : c.ItemType, c.Kind == SchemaShape.Column.VectorKind.Scalar);
            });
            if (plans.Count == 0)
                return inputSchema;
            return Metapath2VecSavedForm.Build(_context, plans, _options.Dimension, _options.AddKnownIndicator, null).GetOutputSchema(inputSchema);
        }

        /// <summary>Builds the graph from the edges table, generates the walks, trains the embeddings and returns the lookup transform.
        /// <paramref name="input"/> gives the types of the id columns to map (it is not scanned).</summary>
        public Metapath2VecTransformer Fit(IDataView input) => Fit(input, CancellationToken.None);

        /// <summary>
        /// <see cref="Fit(IDataView)"/> that can be cancelled: every training thread checks <paramref name="cancellationToken"/>
        /// every few thousand walk tokens (each learning-rate update), so training stops within one such batch and
        /// throws <see cref="OperationCanceledException"/>; nothing is returned or kept.
        /// </summary>
        /// <param name="input">Data whose schema gives the types of the id columns to map (it is not scanned).</param>
        /// <param name="cancellationToken">Stops training.</param>
        /// <returns>The fitted transform.</returns>
        public Metapath2VecTransformer Fit(IDataView input, CancellationToken cancellationToken)
        {
            if (input is null)
                throw new ArgumentNullException(nameof(input));
            var plans = Plans(name => input.Schema.GetColumnOrNull(name) is DataViewSchema.Column c
                ? (c.Type is VectorDataViewType v ? v.ItemType : c.Type, c.Type is not VectorDataViewType)
                : null);
            return FitCore(input, plans, cancellationToken);
        }

        /// <summary>
        /// Trains on the graph alone, for users who want the embeddings (<see cref="Metapath2VecTransformer.GetEmbeddings"/>,
        /// <see cref="Metapath2VecTransformer.GetContextEmbeddings"/>, <see cref="Metapath2VecTransformer.ScoreLink"/>) rather
        /// than a transform of their rows: no data with id columns is needed. The id columns given to the catalog, if any,
        /// are mapped when the returned transformer is applied to data that has them; with none, it passes data through.
        /// </summary>
        /// <param name="cancellationToken">Stops training within one learning-rate update (a few thousand tokens).</param>
        /// <returns>The fitted transform with the embeddings.</returns>
        public Metapath2VecTransformer FitGraph(CancellationToken cancellationToken = default)
        {
            if (_columns.Length > 0)
                throw new InvalidOperationException(
                    $"FitGraph trains without data, but this estimator maps {string.Join(", ", _columns.Select(c => "'" + c.InputColumnName + "'"))}: " +
                    "call Fit(data) with data that has those columns, or create the estimator without columns (Metapath2Vec(edges, options)).");
            return FitCore(null, new List<Metapath2VecSavedForm.ColumnPlan>(), cancellationToken);
        }

        private Metapath2VecTransformer FitCore(IDataView? input, List<Metapath2VecSavedForm.ColumnPlan> plans, CancellationToken cancellationToken)
        {
            // The token of the call and the one of the options: either stops training.
            using var linked = cancellationToken.CanBeCanceled && _options.CancellationToken.CanBeCanceled
                ? CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _options.CancellationToken) : null;
            cancellationToken = linked?.Token ?? (cancellationToken.CanBeCanceled ? cancellationToken : _options.CancellationToken);
            var o = _options;
            int seed = ContextSeed.Resolve(_context, o.Seed);
            int threads = o.NumberOfThreads ?? Environment.ProcessorCount;
            using var log = new RankerLog(_context, "Metapath2Vec");
            var clock = Stopwatch.StartNew();

            var graph = HeterogeneousGraph.Build(_edges, o, names => NeededRelations(names), log);
            foreach (var m in _metapaths)
            {
                var cycle = m.Cycle;
                for (int i = 0; i < cycle.Length; i++)
                {
                    string a = cycle[i], b = cycle[(i + 1) % cycle.Length];
                    if (graph.Relations[(graph.TypeIndex(a), graph.TypeIndex(b))].EdgeCount == 0)
                        throw new InvalidOperationException(
                            $"The metapath \"{m.Text}\" cannot be followed: no edge links a {a} node to a {b} node" +
                            (m.Types[0] != m.Types[^1] && i == cycle.Length - 1 ? $" (an open metapath wraps from its last type back to its first; close it, e.g. \"{m.Text}-{m.Types[0]}\" needs {m.Types[^1]}-{m.Types[0]} edges too, or write it symmetric)." : "."));
                }
            }
            cancellationToken.ThrowIfCancellationRequested();
            var walker = new MetapathWalker(graph, _metapaths, o.WalksPerNode, o.WalkLength, seed);
            log.Progress(o.Progress, new Metapath2VecProgress { Stage = "graph", Fraction = 0, Epochs = o.Epochs, LearningRate = o.InitialLearningRate, ElapsedSeconds = clock.Elapsed.TotalSeconds },
                $"Graph built in {clock.Elapsed.TotalSeconds:F2}s; {walker.WalkCount} walks per epoch over {_metapaths.Length} metapath(s).");

            var trainer = new SkipGramTrainer(walker, o.Dimension, o.WindowSize, o.NegativeSamples, o.Epochs, o.InitialLearningRate, o.MinLearningRateFraction,
                o.SubsamplingThreshold, o.Variant == Metapath2VecVariant.Metapath2VecPlusPlus, threads, seed);
            trainer.CountWalks();
            cancellationToken.ThrowIfCancellationRequested();
            long totalTokens = trainer.Statistics.TokensPerEpoch * (long)o.Epochs;
            log.Progress(o.Progress, new Metapath2VecProgress { Stage = "walks", Fraction = 0, Epochs = o.Epochs, TotalTokens = totalTokens, LearningRate = o.InitialLearningRate, ElapsedSeconds = clock.Elapsed.TotalSeconds },
                $"Walks: {trainer.Statistics.Walks} walks, {trainer.Statistics.TokensPerEpoch} tokens per epoch ({trainer.Statistics.WalkSeconds:F2}s).");
            try
            {
                trainer.Train((epoch, tokens, lr) => log.Progress(o.Progress,
                        new Metapath2VecProgress { Stage = "training", Fraction = (double)epoch / o.Epochs, Epoch = epoch, Epochs = o.Epochs, TokensProcessed = tokens, TotalTokens = totalTokens, LearningRate = lr, ElapsedSeconds = clock.Elapsed.TotalSeconds },
                        $"Epoch {epoch}/{o.Epochs}: {tokens} tokens, learning rate {lr:G4}, {clock.Elapsed.TotalSeconds:F2}s."),
                    (epoch, tokens, lr) => log.Progress(o.Progress,
                        new Metapath2VecProgress { Stage = "training", Fraction = totalTokens > 0 ? Math.Min(1.0, (double)tokens / totalTokens) : null, Epoch = epoch - 1, Epochs = o.Epochs, InEpoch = true, TokensProcessed = tokens, TotalTokens = totalTokens, LearningRate = lr, ElapsedSeconds = clock.Elapsed.TotalSeconds },
                        $"Epoch {epoch}/{o.Epochs} in progress: {tokens} of {totalTokens} tokens ({100.0 * tokens / Math.Max(1, totalTokens):F0}%), learning rate {lr:G4}, {clock.Elapsed.TotalSeconds:F0}s."),
                    cancellationToken, o.ProgressInterval);
            }
            catch (InvalidOperationException e) when (trainer.DivergedAtEpoch > 0)
            {
                log.Warning(e.Message);
                throw;
            }

            // Per type: the nodes the walks visited; their vectors are read in place from the trainer's two tables.
            var embeddings = new Dictionary<string, NodeEmbeddings>(StringComparer.Ordinal);
            var contexts = new Dictionary<string, NodeEmbeddings>(StringComparer.Ordinal);
            int d = o.Dimension;
            for (int t = 0; t < graph.TypeCount; t++)
            {
                var nodes = new List<int>();
                for (int v = graph.TypeOffsets[t]; v < graph.TypeOffsets[t + 1]; v++)
                    if (trainer.Counts[v] > 0)
                        nodes.Add(v);
                var ids = nodes.Select(graph.IdText).ToArray();
                var nodeArray = nodes.ToArray();
                embeddings[graph.TypeNames[t]] = new NodeEmbeddings(graph.TypeNames[t], d, ids, nodeArray, trainer.Input);
                contexts[graph.TypeNames[t]] = new NodeEmbeddings(graph.TypeNames[t], d, ids, nodeArray, trainer.Output);
            }
            ITransformer inner;
            if (plans.Count == 0)
            {
                inner = new TransformerChain<ITransformer>();
            }
            else
            {
                var chain = Metapath2VecSavedForm.Build(_context, plans, d, o.AddKnownIndicator, p =>
                {
                    var e = embeddings.TryGetValue(p.NodeType, out var x) ? x : null;
                    if (e is null)
                        throw new InvalidOperationException($"Column '{p.Input}' maps to node type '{p.NodeType}', which no edge of the graph has; its types are {string.Join(", ", graph.TypeNames)}.");
                    var def = o.UnseenEmbedding == UnseenNodeEmbedding.TypeMean ? e.Mean.ToArray() : new float[d];
                    return (e.Ids.ToArray(), row => e.GetVector(row).ToArray(), def);
                });
                inner = chain.Fit(input!);
            }
            var summary = new Metapath2VecTrainingSummary
            {
                Nodes = graph.NodeCount,
                EdgeRows = graph.EdgeRows,
                DuplicateEntries = graph.DuplicateRows,
                ReversedDuplicateRows = graph.ReversedDuplicateRows,
                SelfLoopRows = graph.SelfLoopRows,
                ZeroWeightRows = graph.ZeroWeightRows,
                Walks = trainer.Statistics.Walks,
                TokensPerEpoch = trainer.Statistics.TokensPerEpoch,
                Epochs = o.Epochs,
                Threads = trainer.Statistics.Threads,
                WalkSeconds = trainer.Statistics.WalkSeconds,
                TrainSeconds = trainer.Statistics.TrainSeconds,
                FinalLearningRate = trainer.Statistics.FinalLearningRate,
            };
            log.Info($"Trained {summary.TokensPerEpoch * (long)summary.Epochs} tokens in {summary.TrainSeconds:F2}s ({summary.TokensPerSecond:F0} tokens/s, {summary.Threads} threads).");
            return new Metapath2VecTransformer(inner, embeddings, contexts, walker, summary)
            {
                Inputs = plans.Count == 0 ? MLNetRank.Common.InputColumnCheck.None
                    : MLNetRank.Common.InputColumnCheck.From(input!.Schema, plans.Select(p => (p.Input, $"id column of node type '{p.NodeType}'"))),
            };
        }

        /// <summary>Checks the metapaths against the graph's types and returns the relations the walks step through.</summary>
        private HashSet<(int, int)> NeededRelations(string[] typeNames)
        {
            var needed = new HashSet<(int, int)>();
            foreach (var m in _metapaths)
            {
                foreach (var t in m.Types)
                    if (Array.IndexOf(typeNames, t) < 0)
                        throw new InvalidOperationException(
                            $"The metapath \"{m.Text}\" names node type '{t}', which no edge of the graph has; the graph's types are {string.Join(", ", typeNames)} (names are case-sensitive).");
                var cycle = m.Cycle;
                for (int i = 0; i < cycle.Length; i++)
                    needed.Add((Array.IndexOf(typeNames, cycle[i]), Array.IndexOf(typeNames, cycle[(i + 1) % cycle.Length])));
            }
            return needed;
        }
    }
}
