using System;
using System.Collections.Generic;

namespace MLNetRank.Graph
{
    /// <summary>The skip-gram model: metapath2vec (one negative distribution over all nodes) or metapath2vec++
    /// (negatives drawn from the node type of the context being predicted, i.e. a softmax normalised per type).</summary>
    public enum Metapath2VecVariant
    {
        /// <summary>metapath2vec: heterogeneous walks, homogeneous skip-gram (negatives from every node, unigram^0.75).</summary>
        Metapath2Vec = 0,

        /// <summary>metapath2vec++: negatives drawn only from the node type of the positive context (type-aware negative sampling and softmax).</summary>
        Metapath2VecPlusPlus = 1,
    }

    /// <summary>The embedding given to an id that is not in the trained graph (or that no walk visited).</summary>
    public enum UnseenNodeEmbedding
    {
        /// <summary>A vector of zeros.</summary>
        Zeros = 0,

        /// <summary>The mean of the trained embeddings of the column's node type.</summary>
        TypeMean = 1,
    }

    /// <summary>What to do when the same pair of nodes is linked by several rows of the edges table.</summary>
    public enum DuplicateEdgeHandling
    {
        /// <summary>Merge them into one edge whose weight is the sum of their weights (an unweighted pair listed k times weighs k).</summary>
        SumWeights = 0,

        /// <summary>Merge them into one edge that keeps the largest of their weights (an unweighted table stays unweighted).</summary>
        KeepMaxWeight = 1,

        /// <summary>Throw an <see cref="InvalidOperationException"/> naming the first duplicated pair.</summary>
        Throw = 2,
    }

    /// <summary>A progress report of <see cref="Metapath2VecEstimator"/> training, one per stage and per epoch: the common
    /// <see cref="RankerProgress"/> (<see cref="RankerProgress.Stage"/> is "graph", "walks" or "training";
    /// <see cref="RankerProgress.Fraction"/> is the part of the training tokens processed) with metapath2vec's own figures.</summary>
    public sealed class Metapath2VecProgress : RankerProgress
    {

        /// <summary>Epochs completed (0 before training; during an epoch, the epochs completed before it).</summary>
        public int Epoch { get; init; }

        /// <summary>True for a report made during an epoch (every <see cref="Metapath2VecEstimator.Options.ProgressInterval"/>), false
        /// for the report at the end of a stage or epoch.</summary>
        public bool InEpoch { get; init; }

        /// <summary>Walk tokens training will process in all (tokens per epoch x epochs); 0 before the walks are counted.</summary>
        public long TotalTokens { get; init; }

        /// <summary>Total number of epochs.</summary>
        public int Epochs { get; init; }

        /// <summary>Walk tokens processed so far (over all epochs, before subsampling).</summary>
        public long TokensProcessed { get; init; }

        /// <summary>The learning rate at the end of the stage.</summary>
        public float LearningRate { get; init; }

        /// <summary>Wall-clock seconds since training started.</summary>
        public double ElapsedSeconds { get; init; }
    }

    public sealed partial class Metapath2VecEstimator
    {
        /// <summary>
        /// Options of <see cref="Metapath2VecEstimator"/>: metapath2vec / metapath2vec++ node embeddings
        /// (Dong, Chawla and Swami, KDD 2017) learned on a heterogeneous graph given as an edges table.
        /// Defaults work for graphs of thousands to millions of nodes.
        /// </summary>
        public sealed class Options
        {
            /// <summary>Edges table column with the source node id (text or any integer type). Default "SourceId".</summary>
            public string SourceIdColumnName { get; set; } = "SourceId";

            /// <summary>Edges table column with the source node type (text). Default "SourceType".</summary>
            public string SourceTypeColumnName { get; set; } = "SourceType";

            /// <summary>Edges table column with the target node id (text or any integer type). Default "TargetId".</summary>
            public string TargetIdColumnName { get; set; } = "TargetId";

            /// <summary>Edges table column with the target node type (text). Default "TargetType".</summary>
            public string TargetTypeColumnName { get; set; } = "TargetType";

            /// <summary>Optional edges table column (Single) with a non-negative edge weight: a walk moves to a neighbour with
            /// probability proportional to the weight. Null (the default) = every edge weighs 1. Zero-weight edges are dropped.</summary>
            public string? WeightColumnName { get; set; }

            /// <summary>The metapaths walks follow, written as node types joined by '-', e.g. "User-Live-User" or
            /// "User-Item-Live-Item-User" (type names are case-sensitive). A metapath whose first and last types are equal
            /// is followed cyclically (U-L-U-L-U...); otherwise the walk wraps from the last type back to the first, which
            /// then needs edges between them. Required: at least one.</summary>
            public IList<string> Metapaths { get; set; } = new List<string>();

            /// <summary>Maps an input id column of the transformed data (e.g. "UserId") to a node type (e.g. "User").
            /// Columns not listed map to the node type named like the column without a trailing "Id" (case-insensitive),
            /// or to the type named exactly like the column.</summary>
            public IDictionary<string, string> ColumnNodeTypes { get; set; } = new Dictionary<string, string>(StringComparer.Ordinal);

            /// <summary>Walks started from each node of a metapath's first type, per metapath. Default 10.</summary>
            public int WalksPerNode { get; set; } = 10;

            /// <summary>Nodes per walk (a walk stops earlier at a dead end). Default 40.</summary>
            public int WalkLength { get; set; } = 40;

            /// <summary>Skip-gram window: context nodes up to this distance on either side (word2vec's reduced window). Default 5.</summary>
            public int WindowSize { get; set; } = 5;

            /// <summary>Negative samples per positive pair. Default 5.</summary>
            public int NegativeSamples { get; set; } = 5;

            /// <summary>Embedding dimension. Default 64.</summary>
            public int Dimension { get; set; } = 64;

            /// <summary>Passes over the walks (the walks are a fixed function of the seed: the same in every epoch). Default 5.</summary>
            public int Epochs { get; set; } = 5;

            /// <summary>Initial learning rate, decayed linearly to <see cref="InitialLearningRate"/> x <see cref="MinLearningRateFraction"/>. Default 0.025.</summary>
            public float InitialLearningRate { get; set; } = 0.025f;

            /// <summary>The floor of the linear decay as a fraction of the initial rate. Default 0.0001 (word2vec).</summary>
            public float MinLearningRateFraction { get; set; } = 1e-4f;

            /// <summary>Frequent-node subsampling threshold t of word2vec: a node of frequency f in the walks is kept with
            /// probability (sqrt(f/t)+1)·t/f. 0 disables it. Default 0.001.</summary>
            public double SubsamplingThreshold { get; set; } = 1e-3;

            /// <summary>metapath2vec (default) or metapath2vec++.</summary>
            public Metapath2VecVariant Variant { get; set; } = Metapath2VecVariant.Metapath2Vec;

            /// <summary>Training threads (lock-free "Hogwild" SGD, as word2vec). Null = <see cref="Environment.ProcessorCount"/>.
            /// 1 makes training bit-for-bit deterministic for a given seed (on a given machine).</summary>
            public int? NumberOfThreads { get; set; }

            /// <summary>Seed of the walks, the initialisation and the sampling. Null = drawn from the <c>MLContext</c>.</summary>
            public int? Seed { get; set; }

            /// <summary>The embedding of ids that are not in the graph (or that no walk visited). Default <see cref="UnseenNodeEmbedding.Zeros"/>.</summary>
            public UnseenNodeEmbedding UnseenEmbedding { get; set; } = UnseenNodeEmbedding.Zeros;

            /// <summary>When true, each output column <c>X</c> gets a Boolean column <c>XKnown</c>: true when the id has a trained embedding. Default false.</summary>
            public bool AddKnownIndicator { get; set; }

            /// <summary>Handling of a node pair linked by several rows. Default <see cref="DuplicateEdgeHandling.SumWeights"/>.
            /// Edges are undirected, so a table that lists every edge in both directions (u, v) and (v, u) is a table of
            /// duplicates: with SumWeights each pair weighs the sum of its two rows (the walks are unchanged when every pair is
            /// listed exactly twice with equal weights, but a pair listed in one direction only then weighs half as much).
            /// Training logs a warning when most rows have their reverse in the table
            /// (<see cref="Metapath2VecTrainingSummary.ReversedDuplicateRows"/>); list each edge once or use KeepMaxWeight.</summary>
            public DuplicateEdgeHandling DuplicateEdges { get; set; } = DuplicateEdgeHandling.SumWeights;

            /// <summary>Optional receiver of progress reports (also written to <c>MLContext.Log</c>, which prints nothing
            /// until the application subscribes: <c>mlContext.Log += (_, e) =&gt; Console.WriteLine(e.Message);</c>). Reports
            /// come at each stage, at the end of each epoch and every <see cref="ProgressInterval"/> during an epoch, on the
            /// thread that called <c>Fit</c>.</summary>
            public IProgress<Metapath2VecProgress>? Progress { get; set; }

            /// <summary>Stops training (as the token given to <c>Fit(data, token)</c> or <c>FitGraph(token)</c> does; either
            /// stops it): every training thread checks it at each learning-rate update, so training throws
            /// <see cref="OperationCanceledException"/> within a few thousand walk tokens. Default <c>CancellationToken.None</c>.</summary>
            public System.Threading.CancellationToken CancellationToken { get; set; }

            /// <summary>How often training reports progress during an epoch (to <see cref="Progress"/> and <c>MLContext.Log</c>).
            /// Default 10 seconds.</summary>
            public TimeSpan ProgressInterval { get; set; } = TimeSpan.FromSeconds(10);

            /// <summary>A shallow copy (collections shared: replace them, do not mutate them).</summary>
            internal Metapath2VecEstimator.Options Clone() => (Metapath2VecEstimator.Options)MemberwiseClone();

            internal void Validate()
            {
                if (Metapaths is null || Metapaths.Count == 0)
                    throw new ArgumentException("At least one metapath is required, e.g. \"User-Live-User\".", nameof(Metapaths));
                Positive(WalksPerNode, nameof(WalksPerNode));
                if (WalkLength < 2)
                    throw new ArgumentOutOfRangeException(nameof(WalkLength), WalkLength, "WalkLength must be at least 2 nodes.");
                Positive(WindowSize, nameof(WindowSize));
                if (NegativeSamples < 0)
                    throw new ArgumentOutOfRangeException(nameof(NegativeSamples), NegativeSamples, "NegativeSamples must be 0 or more.");
                Positive(Dimension, nameof(Dimension));
                Positive(Epochs, nameof(Epochs));
                if (!(InitialLearningRate > 0) || !float.IsFinite(InitialLearningRate))
                    throw new ArgumentOutOfRangeException(nameof(InitialLearningRate), InitialLearningRate, "InitialLearningRate must be a finite positive number.");
                if (!(MinLearningRateFraction >= 0 && MinLearningRateFraction <= 1))
                    throw new ArgumentOutOfRangeException(nameof(MinLearningRateFraction), MinLearningRateFraction, "MinLearningRateFraction must be in [0, 1].");
                if (!(SubsamplingThreshold >= 0) || !double.IsFinite(SubsamplingThreshold))
                    throw new ArgumentOutOfRangeException(nameof(SubsamplingThreshold), SubsamplingThreshold, "SubsamplingThreshold must be 0 (off) or a finite positive number.");
                if (NumberOfThreads is int t && t < 1)
                    throw new ArgumentOutOfRangeException(nameof(NumberOfThreads), t, "NumberOfThreads must be at least 1 (or null for all cores).");
                if (string.IsNullOrEmpty(SourceIdColumnName) || string.IsNullOrEmpty(SourceTypeColumnName)
                    || string.IsNullOrEmpty(TargetIdColumnName) || string.IsNullOrEmpty(TargetTypeColumnName))
                    throw new ArgumentException("The source/target id and type column names of the edges table must be given.");
                if (!Enum.IsDefined(Variant))
                    throw new ArgumentOutOfRangeException(nameof(Variant), Variant, "Unknown variant.");
                if (!Enum.IsDefined(UnseenEmbedding))
                    throw new ArgumentOutOfRangeException(nameof(UnseenEmbedding), UnseenEmbedding, "Unknown unseen-embedding policy.");
                if (!(ProgressInterval > TimeSpan.Zero))
                    throw new ArgumentOutOfRangeException(nameof(ProgressInterval), ProgressInterval, "ProgressInterval must be positive.");
                if (!Enum.IsDefined(DuplicateEdges))
                    throw new ArgumentOutOfRangeException(nameof(DuplicateEdges), DuplicateEdges, "Unknown duplicate-edge policy.");
            }

            private static void Positive(int value, string name)
            {
                if (value < 1)
                    throw new ArgumentOutOfRangeException(name, value, $"{name} must be at least 1.");
            }
        }
    }
}
