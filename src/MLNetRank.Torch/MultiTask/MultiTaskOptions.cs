using System;
using System.Collections.Generic;

namespace MLNetRank.Torch.MultiTask
{
    /// <summary>How a multi-task network shares its lower layers between tasks.</summary>
    public enum MultiTaskArchitecture
    {
        /// <summary>One independent network per task (its own embeddings, bottom and tower): the baseline.</summary>
        SingleTask,
        /// <summary>One shared bottom MLP feeding a tower per task (Caruana, 1997).</summary>
        SharedBottom,
        /// <summary>Multi-gate Mixture-of-Experts (Ma et al., KDD 2018): shared experts, a softmax gate per task.</summary>
        MMoE,
        /// <summary>Progressive Layered Extraction (Tang et al., RecSys 2020): shared and task-specific experts
        /// over one or more extraction levels; one level is CGC.</summary>
        Ple,
    }

    /// <summary>The kind of a task's label and loss.</summary>
    public enum MultiTaskKind
    {
        /// <summary>A 0/1 label (Boolean, or Single 0/1), binary cross-entropy; outputs a score (logit) and a probability.</summary>
        Binary,
        /// <summary>A real label (Single), squared error on the (optionally transformed) label; outputs a score.</summary>
        Regression,
    }

    /// <summary>A transform applied to a regression label before the loss; the score is mapped back.</summary>
    public enum LabelTransform
    {
        /// <summary>The label as is.</summary>
        None,
        /// <summary><c>log(1 + y)</c> (stay time, counts); the output score is <c>exp(prediction) - 1</c>, in label units. Labels must be &gt; -1.</summary>
        Log1p,
    }

    /// <summary>How the task losses are combined.</summary>
    public enum TaskWeighting
    {
        /// <summary><c>Σ w_t · L_t</c> with <see cref="TaskSpec.Weight"/>.</summary>
        Fixed,
        /// <summary>Learned homoscedastic uncertainty weighting (Kendall, Gal and Cipolla, CVPR 2018), with
        /// <c>s_t = log σ_t²</c> learned (initial 0): <c>(1/σ²)·L_t + log σ = exp(-s_t) · L_t + ½ s_t</c> for binary tasks and
        /// <c>(1/(2σ²))·L_t + log σ = ½ exp(-s_t) · L_t + ½ s_t</c> for regression; <see cref="TaskSpec.Weight"/> still
        /// multiplies each term. At the optimum <c>exp(-s_t) = 1/(2 L_t)</c> (binary) or <c>1/L_t</c> (regression): a task with a
        /// smaller loss gets a larger weight.</summary>
        Uncertainty,
        /// <summary>Uncertainty weighting with a positive regulariser (Liebel and Körner, 2018): <c>(1/(2σ²))·L_t + log(1 + σ²)
        /// = ½ exp(-s_t) · L_t + log(1 + exp(s_t))</c> for every task, <c>s_t = log σ_t²</c> learned (initial 0);
        /// <see cref="TaskSpec.Weight"/> multiplies each term. The regulariser is never negative, and the learned weight grows
        /// roughly like <c>1/√L_t</c> for small losses instead of <c>1/L_t</c>.</summary>
        RegularizedUncertainty,
    }

    /// <summary>Optimizer of the network's parameters.</summary>
    public enum MultiTaskOptimizer
    {
        /// <summary>Adam (L2 regularization added to the gradient).</summary>
        Adam,
        /// <summary>AdamW (decoupled weight decay).</summary>
        AdamW,
        /// <summary>Adagrad.</summary>
        Adagrad,
    }

    /// <summary>How the ids of a categorical or sequence column become rows of an embedding table.</summary>
    public enum IdEncoding
    {
        /// <summary>A dictionary of the values seen in training (ML.NET's <c>MapValueToKey</c>, at most
        /// <see cref="CategoricalFeature.MaximumIds"/>); unseen values map to row 0 ("unknown").</summary>
        Dictionary,
        /// <summary>Hashing into <c>2^HashBits</c> rows (ML.NET's <c>Hash</c>): open vocabularies, no dictionary.</summary>
        Hash,
        /// <summary>The column is already a key type: its key values are the rows (0 = missing).</summary>
        Key,
    }

    /// <summary>How the slots of a categorical vector column (e.g. GBDT leaf ids, one slot per tree) map to embedding rows.</summary>
    public enum SlotIdSpace
    {
        /// <summary>One id space per slot: the same id in two slots is two embedding rows (leaf 3 of tree 1 and leaf 3 of tree 2
        /// are different leaves; the text "Not in universe" in two columns of a categorical vector means different things).
        /// The table has <c>slots x (ids + 1)</c> rows.</summary>
        PerSlot,
        /// <summary>One id space for all slots: an id is one embedding row whatever its slot (a bag of ids of one kind, such as
        /// tags). The table has <c>ids + 1</c> rows.</summary>
        Shared,
    }

    /// <summary>Base of the declared inputs of a multi-task network (in the spirit of DeepCTR's feature columns).</summary>
    public abstract class FeatureSpec
    {
        /// <summary>Creates a feature on input column <paramref name="columnName"/>.</summary>
        protected FeatureSpec(string columnName)
        {
            if (string.IsNullOrWhiteSpace(columnName))
                throw new ArgumentException("A feature needs a column name.", nameof(columnName));
            ColumnName = columnName;
        }

        /// <summary>The input column.</summary>
        public string ColumnName { get; }

        /// <summary>True to also feed this feature to the linear (wide) part added to every task's logit
        /// (the feature still enters the experts and gates, unless <see cref="MultiTaskEstimator.Options.WidePartRouting"/> says
        /// otherwise). Default false.</summary>
        public bool Wide { get; set; }
    }

    /// <summary>A dense input: a <c>Single</c> scalar or a known-size vector of <c>Single</c>; standardized with the
    /// training mean and deviation when <see cref="Standardize"/> (the statistics are part of the exported graph).</summary>
    public sealed class DenseFeature : FeatureSpec
    {
        /// <summary>A dense feature on column <paramref name="columnName"/>.</summary>
        public DenseFeature(string columnName) : base(columnName) { }

        /// <summary>Standardize each slot with its training mean and standard deviation. Default true.</summary>
        public bool Standardize { get; set; } = true;
    }

    /// <summary>A categorical input with an embedding table: a scalar id (user id, room id) or a known-size vector of ids
    /// (e.g. GBDT leaf ids, one per tree), of a key type, an integer type or text. The slots of a vector are embedded and their
    /// embeddings concatenated; each slot has its own id space by default (<see cref="SlotIdSpace"/>).</summary>
    public sealed class CategoricalFeature : FeatureSpec
    {
        /// <summary>A categorical feature on column <paramref name="columnName"/> with embeddings of <paramref name="embeddingDimension"/>.</summary>
        public CategoricalFeature(string columnName, int embeddingDimension = 8) : base(columnName)
        {
            EmbeddingDimension = embeddingDimension;
        }

        /// <summary>Embedding dimension. Default 8.</summary>
        public int EmbeddingDimension { get; set; }

        /// <summary>How ids become rows. Default <see cref="IdEncoding.Dictionary"/> (or <see cref="IdEncoding.Key"/> when the column is a key type).</summary>
        public IdEncoding? Encoding { get; set; }

        /// <summary>Bits of the hash for <see cref="IdEncoding.Hash"/>: the table has <c>2^HashBits + 1</c> rows. Default 18.</summary>
        public int HashBits { get; set; } = 18;

        /// <summary>Largest dictionary for <see cref="IdEncoding.Dictionary"/>. Default 1,000,000.</summary>
        public int MaximumIds { get; set; } = 1_000_000;

        /// <summary>For a vector column: one id space per slot (each (slot, id) pair its own embedding row; the table has
        /// <c>slots x (ids + 1)</c> rows) or one space shared by all slots. Default <see cref="MultiTask.SlotIdSpace.PerSlot"/>.
        /// Ignored for a scalar column. The dictionary of <see cref="IdEncoding.Dictionary"/> is learned over all slots either
        /// way; per-slot spaces then give each slot its own rows for it.</summary>
        public SlotIdSpace SlotIdSpace { get; set; } = SlotIdSpace.PerSlot;

        /// <summary>Pretrained vectors that start this feature's embedding table (PyTorch's <c>nn.Embedding.from_pretrained</c>),
        /// or null (default) for the usual random start. Each table row whose id has a vector starts at it (for a vector column
        /// with one id space per slot, in every slot); ids without a vector, and the unknown/missing row 0, keep the random start
        /// (counts go to the <c>MLContext</c> log). The vectors' <see cref="PretrainedEmbeddings.Dimension"/> must equal
        /// <see cref="EmbeddingDimension"/>. Ids are matched through the feature's <see cref="Encoding"/>: the dictionary's
        /// values, the hash of the id, or the key (its key values, or the key number when it has none).</summary>
        public PretrainedEmbeddings? InitialEmbeddings { get; set; }

        /// <summary>True to keep the table started from <see cref="InitialEmbeddings"/> unchanged by training (the whole table:
        /// rows without a pretrained vector keep their random start); false (default) to fine-tune it with the network.
        /// Requires <see cref="InitialEmbeddings"/>.</summary>
        public bool FreezeEmbeddings { get; set; }
    }

    /// <summary>A behaviour sequence: a variable-length vector of ids (recently clicked items, recently watched rooms), embedded
    /// and pooled (mean over the non-missing ids by default), optionally sharing the embedding table of a categorical feature.</summary>
    public sealed class SequenceFeature : FeatureSpec
    {
        /// <summary>A sequence feature on column <paramref name="columnName"/>.</summary>
        public SequenceFeature(string columnName, int embeddingDimension = 8) : base(columnName)
        {
            EmbeddingDimension = embeddingDimension;
        }

        /// <summary>Embedding dimension when the table is not shared. Default 8.</summary>
        public int EmbeddingDimension { get; set; }

        /// <summary>Name (column) of a <see cref="CategoricalFeature"/>, or of another <see cref="SequenceFeature"/> that has its
        /// own table, whose embedding table this sequence uses (ids of one space: the watched-room sequence and the room id; the
        /// clicked-item sequence and the room's items on sale), or null for its own. The ids are then encoded by that feature's
        /// encoding (for a dictionary: the dictionary learned on that feature's column; ids never seen there are treated as
        /// missing).</summary>
        public string? SharedEmbeddingWith { get; set; }

        /// <summary>True when the sequence is the same for every candidate of a request (the user's histories): the exported
        /// graph accepts it with one row per request, and <c>RequestScorer</c> then feeds it once (checking that the request's
        /// rows agree) so that its embeddings, keys and user-side transformer states are computed once per request and shared
        /// by the candidates. Scores are unchanged. Default false.</summary>
        public bool SameForAllCandidates { get; set; }

        /// <summary>How ids become rows (when not shared). Default <see cref="IdEncoding.Dictionary"/> (<see cref="IdEncoding.Key"/> for key columns).</summary>
        public IdEncoding? Encoding { get; set; }

        /// <summary>Hash bits for <see cref="IdEncoding.Hash"/>. Default 18.</summary>
        public int HashBits { get; set; } = 18;

        /// <summary>Largest dictionary for <see cref="IdEncoding.Dictionary"/>. Default 1,000,000.</summary>
        public int MaximumIds { get; set; } = 1_000_000;

        /// <summary>At most this many ids are used: the last <c>MaximumLength</c> of the sequence (most recent last). Default 50.</summary>
        public int MaximumLength { get; set; } = 50;

        /// <summary>How the embedded sequence becomes one vector: <see cref="MeanSequencePooling"/> (default),
        /// <see cref="TargetAttentionPooling"/> (DIN, V2 dual target attention), <see cref="TransformerPooling"/> (V4), or a
        /// user-written <see cref="SequencePooling"/>.</summary>
        public SequencePooling Pooling { get; set; } = new MeanSequencePooling();

        /// <summary>Pretrained vectors that start the embedding table this sequence uses (its own, or the one it shares by
        /// <see cref="SharedEmbeddingWith"/>: then set them on one feature of the sharing group only; the table is initialised
        /// once), or null (default) for the usual random start. Each row whose id has a vector starts at it; ids without one,
        /// and the missing row 0, keep the random start (counts go to the <c>MLContext</c> log). The vectors'
        /// <see cref="PretrainedEmbeddings.Dimension"/> must equal the table's embedding dimension. Ids are matched through the
        /// table's id encoding (dictionary values, hash, or key). See <see cref="CategoricalFeature.InitialEmbeddings"/>.</summary>
        public PretrainedEmbeddings? InitialEmbeddings { get; set; }

        /// <summary>True to keep the table started from <see cref="InitialEmbeddings"/> unchanged by training (the whole table,
        /// shared users included); false (default) to fine-tune it. Requires <see cref="InitialEmbeddings"/>.</summary>
        public bool FreezeEmbeddings { get; set; }
    }

    /// <summary>
    /// Position as a feature (position debiasing method 1): the 1-based position column enters the network in training, as a
    /// learned embedding per position 1..<see cref="MaximumPosition"/> (one shared by later positions), and the exported
    /// serving graph fixes it to <see cref="NeutralPosition"/>, so serving data needs no position column and every candidate
    /// is scored as if shown at that position. The column (Single or Int32/Int64/UInt32, whole numbers &gt;= 1) is read in
    /// training only; validation metrics during training also use the neutral position. At most one per model.
    /// </summary>
    public sealed class PositionFeature : FeatureSpec
    {
        /// <summary>Position as a feature, read from <paramref name="columnName"/>.</summary>
        public PositionFeature(string columnName = "Position") : base(columnName) { }

        /// <summary>The position the serving graph scores every row at. Default 1 (the top slot: the examination of the best
        /// slot, so scores are on the scale of an item shown first); a whole number &gt;= 1.</summary>
        public float NeutralPosition { get; set; } = 1f;

        /// <summary>Positions 1..K get their own embedding; all positions &gt; K share one. Default 10.</summary>
        public int MaximumPosition { get; set; } = MLNetRank.Common.PositionBuckets.DefaultMaximumPosition;

        /// <summary>Dimension of the position embedding. Default 4.</summary>
        public int EmbeddingDimension { get; set; } = 4;
    }

    /// <summary>One task (objective) of the network.</summary>
    public sealed class TaskSpec
    {
        /// <summary>A task named <paramref name="name"/> (output columns <c>{name}Score</c>, <c>{name}Probability</c>)
        /// learned from <paramref name="labelColumnName"/>.</summary>
        public TaskSpec(string name, string labelColumnName, MultiTaskKind kind = MultiTaskKind.Binary)
        {
            if (string.IsNullOrWhiteSpace(name))
                throw new ArgumentException("A task needs a name.", nameof(name));
            if (string.IsNullOrWhiteSpace(labelColumnName))
                throw new ArgumentException($"Task '{name}' needs a label column.", nameof(labelColumnName));
            Name = name;
            LabelColumnName = labelColumnName;
            Kind = kind;
        }

        /// <summary>Task name: prefix of the output columns.</summary>
        public string Name { get; }

        /// <summary>Label column: Boolean or Single (0/1) for a binary task, Single for regression. A NaN label means "no
        /// label" for that row and task (the row still trains the other tasks).</summary>
        public string LabelColumnName { get; }

        /// <summary>Binary or regression.</summary>
        public MultiTaskKind Kind { get; }

        /// <summary>Regression label transform. Default <see cref="LabelTransform.None"/>.</summary>
        public LabelTransform LabelTransform { get; set; } = LabelTransform.None;

        /// <summary>Entire-space conditioning (ESMM, Ma et al., SIGIR 2018): the name of a binary task <c>P</c> such that this
        /// task's label implies <c>P</c>'s (buy implies click). This task's tower then models <c>p(T | P)</c> (e.g. pCVR) and
        /// the loss is taken on <c>p(T and P) = p(P) · p(T | P)</c> (pCTCVR) over all rows, so the conditional model never
        /// trains on the clicked subset only. Adds the output <c>{name}JointProbability</c>. Null for an ordinary task.</summary>
        public string? ConditionedOn { get; set; }

        /// <summary>Weight λ of the entire-space counterfactual regulariser of a conditioned task (ESCM²-IPS, Wang et al.,
        /// SIGIR 2022); needs <see cref="ConditionedOn"/>. ESMM's conditional tower is only identified through the product
        /// <c>p(P) · p(T | P)</c>; this adds <c>λ · (1/N) Σ_i o_i · CE(p(T | P)_i, y_i) / max(p̂(P)_i, 0.01)</c> to the task's
        /// loss, where <c>o_i</c> is the condition's label (click), <c>p̂(P)</c> the condition's predicted probability
        /// (propensity, gradient stopped) and <c>N</c> the rows of the batch: an inverse-propensity estimate of the conditional
        /// task's cross-entropy over all rows. Default 0 (plain ESMM).</summary>
        public float CounterfactualWeight { get; set; }

        /// <summary>Fixed weight of the task's loss. Default 1.</summary>
        public float Weight { get; set; } = 1f;

        /// <summary>Hidden layer sizes of the task's tower (the final 1-unit layer is added). Default [32].</summary>
        public int[]? TowerLayers { get; set; }

        /// <summary>Terms added to this task's logit during training only and left out of the exported model
        /// (e.g. a position bias tower, PAL-style). Default none.</summary>
        public IList<LogitAdjustment> TrainingOnlyLogitAdjustments { get; } = new List<LogitAdjustment>();

        /// <summary>One tower per display position (1..K, K+) instead of one tower, each trained on its positions' rows;
        /// serving uses a chosen tower and can output all of them (see <see cref="MultiTask.PerPositionTowers"/>). Default null
        /// (one tower).</summary>
        public PerPositionTowers? PerPositionTowers { get; set; }
    }

    /// <summary>Progress of a multi-task training run, reported once per epoch: the common <see cref="RankerProgress"/> (stage
    /// "epoch", <see cref="RankerProgress.Fraction"/> = epochs done / epochs asked for; early stopping can end the run before 1)
    /// with the trainer's own figures.</summary>
    public sealed class MultiTaskProgress : RankerProgress
    {
        /// <summary>1-based epoch just finished.</summary>
        public int Epoch { get; init; }

        /// <summary>Epochs asked for.</summary>
        public int Epochs { get; init; }

        /// <summary>Mean training loss of the epoch (the weighted multi-task objective).</summary>
        public double TrainingLoss { get; init; }

        /// <summary>Rows trained on so far in this run.</summary>
        public long Rows { get; init; }

        /// <summary>Training throughput of the epoch, rows per second.</summary>
        public double SamplesPerSecond { get; init; }

        /// <summary>Validation metrics of the epoch (empty without validation data): <c>Loss</c>, <c>{Task}.Auc</c>,
        /// <c>{Task}.LogLoss</c>, <c>{Task}.Rmse</c>.</summary>
        public IReadOnlyDictionary<string, double> ValidationMetrics { get; init; } = new Dictionary<string, double>();

        /// <summary>Learned uncertainty log-variances <c>s_t</c> per task (empty with fixed weighting).</summary>
        public IReadOnlyDictionary<string, double> TaskLogVariances { get; init; } = new Dictionary<string, double>();

        /// <summary>Mean training-only auxiliary loss of the epoch per sequence feature whose pooling module adds one (see
        /// <see cref="MultiTaskEpoch.AuxiliaryLosses"/>); empty when none does.</summary>
        public IReadOnlyDictionary<string, double> AuxiliaryLosses { get; init; } = new Dictionary<string, double>();
    }

    public sealed partial class MultiTaskEstimator
    {
        /// <summary>Options of <see cref="MultiTaskEstimator"/>. The defaults train a useful MMoE on CPU.</summary>
        public sealed class Options
        {
            /// <summary>Declared inputs: <see cref="DenseFeature"/>, <see cref="CategoricalFeature"/>, <see cref="SequenceFeature"/>
            /// (at least one of these), and optionally one <see cref="PositionFeature"/> (training-only, fixed at serving).</summary>
            public IList<FeatureSpec> Features { get; } = new List<FeatureSpec>();

            /// <summary>Tasks. At least one; names unique.</summary>
            public IList<TaskSpec> Tasks { get; } = new List<TaskSpec>();

            /// <summary>Optional per-row weight column (Single, finite, &gt;= 0), e.g. inverse propensity weights. Default none.</summary>
            public string? ExampleWeightColumnName { get; set; }

            /// <summary>Architecture. Default <see cref="MultiTaskArchitecture.MMoE"/>.</summary>
            public MultiTaskArchitecture Architecture { get; set; } = MultiTaskArchitecture.MMoE;

            /// <summary>Hidden layers of each expert (MMoE, PLE), of the shared bottom (SharedBottom) or of each task's bottom
            /// (SingleTask). Default [64, 32]. May be empty for SharedBottom: the tasks then share only the embeddings and
            /// each tower (<see cref="TowerLayers"/>) reads the encoded inputs, the architecture of the ESMM paper.</summary>
            public int[] ExpertLayers { get; set; } = new[] { 64, 32 };

            /// <summary>MMoE: number of shared experts. Default 4.</summary>
            public int Experts { get; set; } = 4;

            /// <summary>MMoE: where the features declared <see cref="FeatureSpec.Wide"/> enter besides the linear part — the
            /// experts and the gates (default), the experts only, the gates only, or neither (the variants of Taobao's "Lying
            /// Flat" MMoE; see docs/sequences.md). Default <see cref="MultiTask.WidePartRouting.ExpertsAndGates"/>.</summary>
            public WidePartRouting WidePartRouting { get; set; } = WidePartRouting.ExpertsAndGates;

            /// <summary>PLE: shared experts per level. Default 2.</summary>
            public int SharedExperts { get; set; } = 2;

            /// <summary>PLE: task-specific experts per task and level. Default 1.</summary>
            public int TaskExperts { get; set; } = 1;

            /// <summary>PLE: extraction levels (1 = CGC). Default 2.</summary>
            public int Levels { get; set; } = 2;

            /// <summary>Default hidden layers of the task towers (a task's <see cref="TaskSpec.TowerLayers"/> overrides). Default [32].</summary>
            public int[] TowerLayers { get; set; } = new[] { 32 };

            /// <summary>Dropout after each hidden layer in training. Default 0.</summary>
            public float Dropout { get; set; }

            /// <summary>How task losses are combined. Default <see cref="TaskWeighting.Fixed"/>.</summary>
            public TaskWeighting TaskWeighting { get; set; } = TaskWeighting.Fixed;

            /// <summary>Optimizer. Default <see cref="MultiTaskOptimizer.Adam"/>.</summary>
            public MultiTaskOptimizer Optimizer { get; set; } = MultiTaskOptimizer.Adam;

            /// <summary>Learning rate. Default 0.001 (Adagrad: use ~0.01).</summary>
            public double LearningRate { get; set; } = 1e-3;

            /// <summary>L2 regularization (Adam, Adagrad) or decoupled weight decay (AdamW). Default 0.</summary>
            public double L2Regularization { get; set; }

            /// <summary>Passes over the training data. Default 10.</summary>
            public int Epochs { get; set; } = 10;

            /// <summary>Rows per mini-batch. Default 256.</summary>
            public int BatchSize { get; set; } = 256;

            /// <summary>Rows held in the bounded shuffle buffer (the data are streamed). 0 or 1 = no shuffling. Default 100,000.
            /// During training at most two such buffers are in memory: the next epoch's is filled on a worker thread while the
            /// current epoch trains, through a second cursor on the training data (so the training <see cref="Microsoft.ML.IDataView"/>
            /// is read by up to three cursors at once, with validation; every ML.NET data view allows that). When every training
            /// row fits the buffer, the rows are read from the data view once and kept for the later epochs, which reshuffle them
            /// in memory (in the same order as reading them again would give), so small data sets do not pay for reading each epoch.</summary>
            public int ShuffleBufferSize { get; set; } = 100_000;

            /// <summary>Validation data (same schema as the training data). When null, <see cref="ValidationFraction"/> of the
            /// training rows is held out (a deterministic per-row draw).</summary>
            public Microsoft.ML.IDataView? ValidationData { get; set; }

            /// <summary>Fraction of training rows held out for validation when <see cref="ValidationData"/> is null. Default 0 (none).</summary>
            public float ValidationFraction { get; set; }

            /// <summary>Validation metric for early stopping and best-epoch selection: <c>Loss</c> (lower is better), or
            /// <c>{Task}.Auc</c> (higher), <c>{Task}.LogLoss</c>, <c>{Task}.Rmse</c> (lower). Default <c>Loss</c>.</summary>
            public string EarlyStoppingMetric { get; set; } = "Loss";

            /// <summary>Stop after this many epochs without improvement of <see cref="EarlyStoppingMetric"/> and keep the best
            /// epoch's weights; 0 = train all epochs (and still keep the best epoch's weights when validating). Default 0.</summary>
            public int EarlyStoppingPatience { get; set; }

            /// <summary>Threads of libtorch (<c>torch.set_num_threads</c>, process-wide); 0 leaves libtorch's setting. Default 0.</summary>
            public int NumberOfThreads { get; set; }

            /// <summary>Device for training: "cpu" (default) or "cuda" / "cuda:0" with a CUDA backend package.</summary>
            public string Device { get; set; } = "cpu";

            /// <summary>Seed; null draws one from the <see cref="Microsoft.ML.MLContext"/> (same context seed, same model).</summary>
            public int? Seed { get; set; }

            /// <summary>Optional progress receiver, called after every epoch.</summary>
            public IProgress<MultiTaskProgress>? Progress { get; set; }

            /// <summary>Optional checkpoint path prefix: after every epoch the network, the optimizer state, the best epoch's
            /// weights and the run state are written together to one file, <c>{path}.checkpoint</c>, atomically (a temporary file,
            /// flushed to disk, renamed over the previous one): a crash or a cancellation leaves the last finished epoch's
            /// checkpoint, never a set torn across epochs. The file carries SHA-256 digests of its parts and a fingerprint of the
            /// run (seed, a digest of the training rows, architecture, features, tasks with their kinds and weights, dropout, L2,
            /// optimizer, learning rate, batch and shuffle sizes, validation): resuming refuses a damaged file
            /// (<see cref="System.IO.InvalidDataException"/>) or one written by a different run (naming what differs).</summary>
            public string? CheckpointPath { get; set; }

            /// <summary>When true and a checkpoint exists at <see cref="CheckpointPath"/>, training resumes after its last epoch;
            /// with the same data, options and seed it then ends with exactly the weights of an uninterrupted run. Default false.</summary>
            public bool ResumeFromCheckpoint { get; set; }

            /// <summary>Stops training: the token is checked before every mini-batch, so training ends within one batch of the
            /// cancellation with an <see cref="OperationCanceledException"/>; the checkpoint of the last finished epoch (with
            /// <see cref="CheckpointPath"/>) stays loadable and <see cref="ResumeFromCheckpoint"/> continues from it. Default none.</summary>
            public System.Threading.CancellationToken CancellationToken { get; set; }

            /// <summary>
            /// Opt-in: on Linux x64 with a non-Intel CPU, let oneMKL (inside libtorch) use its AVX2/AVX-512 kernels by rewriting
            /// its CPU-vendor query in this process's memory (see <see cref="MklCpuDispatch"/>, which explains what it changes and
            /// what security tools will see). Worth about 1.4x training speed on AVX-512 AMD CPUs and about nothing on AVX2-only
            /// ones. Default false: libtorch's code is left as loaded. Setting the environment variable
            /// <c>MLNETRANK_MKL_CPU_DISPATCH=1</c> opts in as well.
            /// </summary>
            public bool EnableMklCpuDispatch { get; set; }
        }
    }
}
