using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms;
using MLNetRank.Common;
using MLNetRank.Onnx;
using TorchSharp;

namespace MLNetRank.Torch.MultiTask
{
    /// <summary>
    /// Trains a multi-task ranking network (single-task towers, shared-bottom, MMoE or PLE, with ESMM conditioning, a wide
    /// part and fixed or learned uncertainty task weights) with TorchSharp, streaming the data in mini-batches, and returns a
    /// <see cref="MultiTaskTransformer"/> whose scoring and saving are ML.NET's own transforms plus an ONNX graph of the
    /// network (<c>OnnxTransformer</c>): a saved model serves with Microsoft.ML and ONNX Runtime only, no TorchSharp.
    /// </summary>
    /// <remarks>
    /// <format type="text/markdown"><![CDATA[
    /// ### Estimator Characteristics
    /// |  |  |
    /// | -- | -- |
    /// | Does this estimator need to look at the data to train its parameters? | Yes |
    /// | Input column data type | dense: Single or known-size vector of Single; categorical: key, integer or text (scalar or known-size vector); sequences: vectors of key, integer or text; labels: Boolean or Single |
    /// | Output column data type | per task `T`: `TScore` and, for binary tasks, `TProbability` (and `TJointProbability` for ESMM tasks): vectors of 1 Single (ONNX Runtime outputs); with per-position towers and `OutputAllPositions`, `TPositionScores` (and `TPositionProbabilities`): vectors of K + 1 Single |
    /// | Required NuGet in addition to Microsoft.ML | MLNetRank.Torch and a TorchSharp backend to train; MLNetRank (Microsoft.ML.OnnxTransformer, Microsoft.ML.OnnxRuntime) to serve |
    /// | Saved as | ML.NET `Concatenate`/`MapValueToKey`/`Hash`/`ConvertType` transforms + `OnnxTransformer` (the network as ONNX) |
    /// ]]></format>
    /// </remarks>
    public sealed partial class MultiTaskEstimator : IEstimator<MultiTaskTransformer>
    {
        internal const string DenseColumn = "MultiTask.Dense";

        private readonly MLContext _context;
        private readonly MultiTaskEstimator.Options _options;

        internal MultiTaskEstimator(MLContext context, MultiTaskEstimator.Options options)
        {
            _context = context ?? throw new ArgumentNullException(nameof(context));
            _options = options ?? throw new ArgumentNullException(nameof(options));
            ValidateOptions(options);
        }

        /// <summary>The options this estimator trains with.</summary>
        public MultiTaskEstimator.Options TrainerOptions => _options;

        /// <summary>Output column names of a fitted model, in order: per task <c>TScore</c>, then <c>TProbability</c> and
        /// <c>TJointProbability</c> where they apply.</summary>
        public IReadOnlyList<string> OutputColumnNames => OutputNames(_options);

        internal static string[] OutputNames(MultiTaskEstimator.Options o)
        {
            var names = new List<string>();
            foreach (var t in o.Tasks)
            {
                names.Add(t.Name + "Score");
                if (t.Kind == MultiTaskKind.Binary)
                    names.Add(t.Name + "Probability");
                if (t.ConditionedOn is not null)
                    names.Add(t.Name + "JointProbability");
                if (t.PerPositionTowers is { OutputAllPositions: true })
                {
                    names.Add(t.Name + "PositionScores");
                    if (t.Kind == MultiTaskKind.Binary)
                        names.Add(t.Name + "PositionProbabilities");
                }
            }
            return names.ToArray();
        }

        /// <summary>Embedding dimension and most ids of a declared categorical or sequence feature (null when not one).</summary>
        internal static (int Dimension, int Length)? EmbeddingShape(MultiTaskEstimator.Options o, string name)
        {
            var f = o.Features.FirstOrDefault(x => x.ColumnName == name);
            switch (f)
            {
                case CategoricalFeature c:
                    return (c.EmbeddingDimension, 1);
                case SequenceFeature q:
                    var owner = q.SharedEmbeddingWith is null ? null : o.Features.FirstOrDefault(x => x.ColumnName == q.SharedEmbeddingWith);
                    int d = owner switch { CategoricalFeature oc => oc.EmbeddingDimension, SequenceFeature os => os.EmbeddingDimension, _ => q.EmbeddingDimension };
                    return (d, q.MaximumLength);
                default:
                    return null;
            }
        }

        /// <summary>The pooling's query features exist, and its own checks (dimensions, sizes) pass, before any data is read.</summary>
        private static void ValidatePooling(MultiTaskEstimator.Options o, SequenceFeature s)
        {
            var queries = s.Pooling.QueryFeatureNames ?? Array.Empty<string>();
            var dims = new List<int>();
            var lengths = new List<int>();
            foreach (var q in queries)
            {
                if (q == s.ColumnName)
                    throw new ArgumentException($"Sequence feature '{s.ColumnName}': its pooling ({s.Pooling.GetType().Name}) uses the sequence itself as a query.");
                var shape = EmbeddingShape(o, q)
                    ?? throw new ArgumentException($"Sequence feature '{s.ColumnName}': its pooling ({s.Pooling.GetType().Name}) reads query feature '{q}', which is not a declared CategoricalFeature or SequenceFeature.");
                dims.Add(shape.Dimension);
                lengths.Add(shape.Length);
            }
            var own = EmbeddingShape(o, s.ColumnName)!.Value;
            s.Pooling.Validate(new SequencePoolingContext(s.ColumnName, own.Dimension, s.MaximumLength, dims, lengths));
        }

        private sealed class FirstBatchRead : Exception { }

        /// <summary>Runs each pooling's forward and its export (alone, in ONNX Runtime) on the first training batch (at most 64
        /// rows); throws naming the feature and the output that differ.</summary>
        private static void CheckPoolings(MultiTaskNetwork net, NetworkLayout layout, BatchReader train, RowSubset subset, RankerLog log)
        {
            try
            {
                train.Run(subset, 64, 0, null, host =>
                {
                    using var scope = TorchSharp.torch.NewDisposeScope();
                    using var _ = TorchSharp.torch.no_grad();
                    var device = net.parameters().First().device;
                    var b = host.ToTensors(device, withAdjustments: false);
                    foreach (var encoder in net.Encoders)
                    {
                        var batches = encoder.PoolingBatches(b);
                        var modules = encoder.Poolings;
                        for (int i = 0; i < batches.Length; i++)
                        {
                            double worst = PoolingAgreement.Check(layout.Sequences[i].Name, modules[i], batches[i]);
                            log.Trace($"Sequence feature '{layout.Sequences[i].Name}': pooling export agrees with TorchSharp (max relative difference {worst:g3}).");
                        }
                    }
                    throw new FirstBatchRead();
                });
            }
            catch (FirstBatchRead)
            {
            }
        }

        internal static void ValidateOptions(MultiTaskEstimator.Options o)
        {
            if (o.Features.Count == 0)
                throw new ArgumentException("MultiTaskEstimator.Options.Features is empty: declare at least one DenseFeature, CategoricalFeature or SequenceFeature.", nameof(o.Features));
            if (o.Tasks.Count == 0)
                throw new ArgumentException("MultiTaskEstimator.Options.Tasks is empty: declare at least one TaskSpec.", nameof(o.Tasks));
            var dup = o.Features.GroupBy(f => f.ColumnName).FirstOrDefault(g => g.Count() > 1);
            if (dup is not null)
                throw new ArgumentException($"Column '{dup.Key}' is declared as a feature more than once.", nameof(o.Features));
            var dupTask = o.Tasks.GroupBy(t => t.Name).FirstOrDefault(g => g.Count() > 1);
            if (dupTask is not null)
                throw new ArgumentException($"Task name '{dupTask.Key}' is used more than once.", nameof(o.Tasks));
            foreach (var f in o.Features)
            {
                switch (f)
                {
                    case CategoricalFeature c:
                        if (c.EmbeddingDimension < 1)
                            throw new ArgumentOutOfRangeException(nameof(CategoricalFeature.EmbeddingDimension), $"Categorical feature '{c.ColumnName}': EmbeddingDimension must be >= 1 (was {c.EmbeddingDimension}).");
                        if (c.HashBits < 1 || c.HashBits > 30)
                            throw new ArgumentOutOfRangeException(nameof(CategoricalFeature.HashBits), $"Categorical feature '{c.ColumnName}': HashBits must be in [1, 30] (was {c.HashBits}).");
                        if (c.MaximumIds < 1)
                            throw new ArgumentOutOfRangeException(nameof(CategoricalFeature.MaximumIds), $"Categorical feature '{c.ColumnName}': MaximumIds must be >= 1.");
                        break;
                    case SequenceFeature s:
                        if (s.SharedEmbeddingWith is null && s.EmbeddingDimension < 1)
                            throw new ArgumentOutOfRangeException(nameof(SequenceFeature.EmbeddingDimension), $"Sequence feature '{s.ColumnName}': EmbeddingDimension must be >= 1 (was {s.EmbeddingDimension}).");
                        if (s.MaximumLength < 1)
                            throw new ArgumentOutOfRangeException(nameof(SequenceFeature.MaximumLength), $"Sequence feature '{s.ColumnName}': MaximumLength must be >= 1.");
                        if (s.HashBits < 1 || s.HashBits > 30)
                            throw new ArgumentOutOfRangeException(nameof(SequenceFeature.HashBits), $"Sequence feature '{s.ColumnName}': HashBits must be in [1, 30].");
                        if (s.Wide)
                            throw new ArgumentException($"Sequence feature '{s.ColumnName}' cannot be Wide: the wide part takes dense and categorical features.");
                        if (s.Pooling is null)
                            throw new ArgumentNullException(nameof(SequenceFeature.Pooling), $"Sequence feature '{s.ColumnName}' has no Pooling.");
                        if (s.SharedEmbeddingWith is not null && !o.Features.OfType<CategoricalFeature>().Any(c => c.ColumnName == s.SharedEmbeddingWith)
                            && !o.Features.OfType<SequenceFeature>().Any(q => q.ColumnName == s.SharedEmbeddingWith && q.SharedEmbeddingWith is null && q != s))
                            throw new ArgumentException($"Sequence feature '{s.ColumnName}' shares the embedding of '{s.SharedEmbeddingWith}', which is not a declared CategoricalFeature or a SequenceFeature with its own table.");
                        ValidatePooling(o, s);
                        break;
                    case DenseFeature:
                        break;
                    case PositionFeature p:
                        if (p.Wide)
                            throw new ArgumentException($"Position feature '{p.ColumnName}' cannot be Wide.");
                        PositionBuckets.Validate(p.MaximumPosition, nameof(PositionFeature.MaximumPosition), $"Position feature '{p.ColumnName}'");
                        if (p.EmbeddingDimension < 1)
                            throw new ArgumentOutOfRangeException(nameof(PositionFeature.EmbeddingDimension), $"Position feature '{p.ColumnName}': EmbeddingDimension must be >= 1 (was {p.EmbeddingDimension}).");
                        if (!(p.NeutralPosition >= 1) || !float.IsFinite(p.NeutralPosition) || p.NeutralPosition != MathF.Floor(p.NeutralPosition))
                            throw new ArgumentOutOfRangeException(nameof(PositionFeature.NeutralPosition), $"Position feature '{p.ColumnName}': NeutralPosition must be a whole position >= 1 (was {p.NeutralPosition}).");
                        break;
                    default:
                        throw new ArgumentException($"Feature '{f.ColumnName}' is of an unknown kind {f.GetType().Name}.");
                }
            }
            PretrainedTables.Validate(o);
            if (o.Features.OfType<PositionFeature>().Count() > 1)
                throw new ArgumentException("At most one PositionFeature can be declared.", nameof(o.Features));
            if (o.Features.All(f => f is PositionFeature))
                throw new ArgumentException("A PositionFeature is fixed at serving: declare at least one DenseFeature, CategoricalFeature or SequenceFeature too.", nameof(o.Features));
            foreach (var t in o.Tasks)
            {
                if (!(t.Weight >= 0) || !float.IsFinite(t.Weight))
                    throw new ArgumentOutOfRangeException(nameof(TaskSpec.Weight), $"Task '{t.Name}': Weight must be a finite number >= 0 (was {t.Weight}).");
                t.PerPositionTowers?.Validate(t.Name);
                if (t.Kind == MultiTaskKind.Binary && t.LabelTransform != LabelTransform.None)
                    throw new ArgumentException($"Task '{t.Name}' is binary; LabelTransform applies to regression tasks only.");
                if (t.ConditionedOn is not null)
                {
                    var parent = o.Tasks.FirstOrDefault(p => p.Name == t.ConditionedOn)
                        ?? throw new ArgumentException($"Task '{t.Name}' is conditioned on '{t.ConditionedOn}', which is not a task. Tasks: {string.Join(", ", o.Tasks.Select(x => x.Name))}.");
                    if (parent == t || parent.Kind != MultiTaskKind.Binary || t.Kind != MultiTaskKind.Binary || parent.ConditionedOn is not null)
                        throw new ArgumentException($"Task '{t.Name}' conditioned on '{t.ConditionedOn}': both must be binary, distinct, and the condition must not itself be conditioned.");
                }
                if (!(t.CounterfactualWeight >= 0) || !float.IsFinite(t.CounterfactualWeight))
                    throw new ArgumentOutOfRangeException(nameof(TaskSpec.CounterfactualWeight), $"Task '{t.Name}': CounterfactualWeight must be a finite number >= 0 (was {t.CounterfactualWeight}).");
                if (t.CounterfactualWeight > 0 && t.ConditionedOn is null)
                    throw new ArgumentException($"Task '{t.Name}' has CounterfactualWeight {t.CounterfactualWeight} but no ConditionedOn: the counterfactual risk needs the task it is conditioned on (its tower is the propensity).");
                if ((t.TowerLayers ?? o.TowerLayers).Any(h => h < 1))
                    throw new ArgumentOutOfRangeException(nameof(TaskSpec.TowerLayers), $"Task '{t.Name}': tower layer sizes must be >= 1.");
                foreach (var a in t.TrainingOnlyLogitAdjustments)
                {
                    if (a is null)
                        throw new ArgumentNullException(nameof(TaskSpec.TrainingOnlyLogitAdjustments), $"Task '{t.Name}' has a null logit adjustment.");
                    if (a is PositionBiasTower pt)
                        pt.Validate(t.Name);
                    if (a.Combination == BiasCombination.Product && (t.Kind != MultiTaskKind.Binary || t.ConditionedOn is not null))
                        throw new ArgumentException($"Task '{t.Name}': a Product (PAL) bias tower needs a binary task that is not conditioned (ESMM); attach it to the condition task (e.g. Click) instead.");
                }
            }
            if (o.ExpertLayers is null || o.ExpertLayers.Any(h => h < 1))
                throw new ArgumentOutOfRangeException(nameof(o.ExpertLayers), "ExpertLayers: every layer needs a size >= 1.");
            if (o.ExpertLayers.Length == 0 && o.Architecture != MultiTaskArchitecture.SharedBottom)
                throw new ArgumentOutOfRangeException(nameof(o.ExpertLayers), $"ExpertLayers may be empty only for SharedBottom (shared embeddings, one tower per task); {o.Architecture} needs at least one layer.");
            if (o.Experts < 1) throw new ArgumentOutOfRangeException(nameof(o.Experts), "Experts must be >= 1.");
            if (o.SharedExperts < 0 || o.TaskExperts < 0 || o.SharedExperts + o.TaskExperts < 1)
                throw new ArgumentOutOfRangeException(nameof(o.SharedExperts), "PLE needs SharedExperts >= 0, TaskExperts >= 0 and at least one expert per gate.");
            if (o.Architecture == MultiTaskArchitecture.Ple && o.Levels > 1 && o.SharedExperts < 1)
                throw new ArgumentOutOfRangeException(nameof(o.SharedExperts), "PLE with more than one level needs SharedExperts >= 1.");
            if (o.Levels < 1) throw new ArgumentOutOfRangeException(nameof(o.Levels), "Levels must be >= 1.");
            WideRouting.Validate(o);
            if (!(o.Dropout >= 0 && o.Dropout < 1)) throw new ArgumentOutOfRangeException(nameof(o.Dropout), "Dropout must be in [0, 1).");
            if (!(o.LearningRate > 0)) throw new ArgumentOutOfRangeException(nameof(o.LearningRate), "LearningRate must be > 0.");
            if (!(o.L2Regularization >= 0)) throw new ArgumentOutOfRangeException(nameof(o.L2Regularization), "L2Regularization must be >= 0.");
            if (o.Epochs < 1) throw new ArgumentOutOfRangeException(nameof(o.Epochs), "Epochs must be >= 1.");
            if (o.BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(o.BatchSize), "BatchSize must be >= 1.");
            if (o.ShuffleBufferSize < 0) throw new ArgumentOutOfRangeException(nameof(o.ShuffleBufferSize), "ShuffleBufferSize must be >= 0.");
            if (!(o.ValidationFraction >= 0 && o.ValidationFraction < 1)) throw new ArgumentOutOfRangeException(nameof(o.ValidationFraction), "ValidationFraction must be in [0, 1).");
            if (o.EarlyStoppingPatience < 0) throw new ArgumentOutOfRangeException(nameof(o.EarlyStoppingPatience), "EarlyStoppingPatience must be >= 0.");
            if (o.NumberOfThreads < 0) throw new ArgumentOutOfRangeException(nameof(o.NumberOfThreads), "NumberOfThreads must be >= 0.");
            var metric = o.EarlyStoppingMetric ?? "";
            bool known = metric == "Loss" || o.Tasks.Any(t => t.Kind == MultiTaskKind.Binary
                    ? metric == t.Name + ".Auc" || metric == t.Name + ".LogLoss"
                    : metric == t.Name + ".Rmse");
            if (!known)
                throw new ArgumentException($"EarlyStoppingMetric '{metric}' is unknown; use Loss, {{Task}}.Auc or {{Task}}.LogLoss (binary), {{Task}}.Rmse (regression).", nameof(o.EarlyStoppingMetric));
            if (o.ResumeFromCheckpoint && o.CheckpointPath is null)
                throw new ArgumentException("ResumeFromCheckpoint needs a CheckpointPath.", nameof(o.ResumeFromCheckpoint));
            var names = OutputNames(o);
            var clash = names.GroupBy(n => n).FirstOrDefault(g => g.Count() > 1);
            if (clash is not null)
                throw new ArgumentException($"Output column '{clash.Key}' would be produced twice; rename a task.", nameof(o.Tasks));
        }

        private static bool IsIdType(DataViewType t)
            => t is KeyDataViewType || t is TextDataViewType || t == NumberDataViewType.Int32 || t == NumberDataViewType.UInt32
               || t == NumberDataViewType.Int64 || t == NumberDataViewType.UInt64 || t == NumberDataViewType.Int16
               || t == NumberDataViewType.UInt16 || t == NumberDataViewType.Byte || t == NumberDataViewType.SByte;

        private const string IdTypes = "a key, an integer type or text";

        private const string PositionTypes = "a 1-based position of type Single, Double, Int32, Int64 or UInt32";

        private static bool IsPositionType(DataViewType t)
            => t == NumberDataViewType.Single || t == NumberDataViewType.Double || t == NumberDataViewType.Int32
               || t == NumberDataViewType.Int64 || t == NumberDataViewType.UInt32;

        /// <summary>Checks every input column's presence and type, naming the column, the expected and the actual type.</summary>
        internal static void ValidateSchema(DataViewSchema s, MultiTaskEstimator.Options o, bool needLabels)
        {
            foreach (var f in o.Features)
            {
                switch (f)
                {
                    case PositionFeature:
                        break;   // training only: checked with the labels
                    case DenseFeature d:
                        Check.Column(s, d.ColumnName, "dense feature", "Single or a known-size vector of Single",
                            t => t == NumberDataViewType.Single || (t is VectorDataViewType v && v.IsKnownSize && v.ItemType == NumberDataViewType.Single));
                        break;
                    case CategoricalFeature c:
                        {
                            var col = Check.Column(s, c.ColumnName, "categorical feature", $"a scalar or known-size vector of {IdTypes}",
                                t => t is VectorDataViewType v ? v.IsKnownSize && IsIdType(v.ItemType) : IsIdType(t));
                            if ((c.Encoding == IdEncoding.Key || (c.Encoding is null && col.Type.ItemOf() is KeyDataViewType)) && col.Type.ItemOf().RawType != typeof(uint))
                                throw new ArgumentOutOfRangeException(c.ColumnName, $"The categorical feature column '{c.ColumnName}' has type {col.Type}; Encoding = Key expects a key type of UInt32 (or use Encoding = Dictionary or Hash).");
                            break;
                        }
                    case SequenceFeature q:
                        {
                            var col = Check.Column(s, q.ColumnName, "sequence feature", $"a vector of {IdTypes}",
                                t => t is VectorDataViewType v && IsIdType(v.ItemType));
                            if (q.SharedEmbeddingWith is not null)
                            {
                                var owner = s.GetColumnOrNull(q.SharedEmbeddingWith);
                                var ownerSpec = o.Features.OfType<CategoricalFeature>().FirstOrDefault(c => c.ColumnName == q.SharedEmbeddingWith);
                                if (owner.HasValue && owner.Value.Type is VectorDataViewType && ownerSpec?.SlotIdSpace == SlotIdSpace.PerSlot)
                                    throw new InvalidOperationException(
                                        $"Sequence feature '{q.ColumnName}' shares the embedding table of '{q.SharedEmbeddingWith}', a vector column with one id " +
                                        "space per slot; set that CategoricalFeature's SlotIdSpace = SlotIdSpace.Shared, or give the sequence its own table.");
                                if (owner.HasValue)
                                {
                                    var a = col.Type.ItemOf();
                                    var b = owner.Value.Type.ItemOf();
                                    bool same = a is KeyDataViewType ka && b is KeyDataViewType kb ? ka.Count == kb.Count : a.Equals(b);
                                    if (!same)
                                        throw new ArgumentOutOfRangeException(q.ColumnName, $"The sequence feature column '{q.ColumnName}' has items of type {a}; sharing the embedding of '{q.SharedEmbeddingWith}' expects items of type {b}.");
                                }
                            }
                            else if ((q.Encoding == IdEncoding.Key || (q.Encoding is null && col.Type.ItemOf() is KeyDataViewType)) && col.Type.ItemOf().RawType != typeof(uint))
                                throw new ArgumentOutOfRangeException(q.ColumnName, $"The sequence feature column '{q.ColumnName}' has type {col.Type}; Encoding = Key expects a vector of a key type of UInt32 (or use Encoding = Dictionary or Hash).");
                            break;
                        }
                }
            }
            if (needLabels)
            {
                foreach (var t in o.Tasks)
                {
                    if (t.PerPositionTowers is { } pt)
                        Check.Column(s, pt.PositionColumnName, $"position column (per-position towers of task '{t.Name}')", "Int32 or Single (whole numbers >= 1)",
                            x => x == NumberDataViewType.Int32 || x == NumberDataViewType.Single);
                    if (t.Kind == MultiTaskKind.Binary)
                        Check.Column(s, t.LabelColumnName, $"label (task '{t.Name}')", "Boolean or Single (0/1)",
                            x => x == BooleanDataViewType.Instance || x == NumberDataViewType.Single);
                    else
                        Check.Column(s, t.LabelColumnName, $"label (task '{t.Name}')", "Single", x => x == NumberDataViewType.Single);
                    foreach (var a in t.TrainingOnlyLogitAdjustments)
                        foreach (var c in a.Columns())
                        {
                            string role = $"logit adjustment input (task '{t.Name}')";
                            if (c.Kind == AdjustmentColumnKind.Position)
                                Check.Column(s, c.Name, $"position ({role})", PositionTypes, IsPositionType);
                            else if (c.Kind == AdjustmentColumnKind.Category)
                                Check.Column(s, c.Name, $"context id ({role})", $"a scalar {IdTypes} or Boolean", x => IsIdType(x) || x == BooleanDataViewType.Instance);
                            else
                                Check.Column(s, c.Name, role, "Single, Int32 or Boolean, or a known-size vector of Single",
                                    x => x == NumberDataViewType.Single || x == NumberDataViewType.Int32 || x == BooleanDataViewType.Instance
                                         || (x is VectorDataViewType v && v.IsKnownSize && v.ItemType == NumberDataViewType.Single));
                        }
                }
                foreach (var p in o.Features.OfType<PositionFeature>())
                    Check.Column(s, p.ColumnName, "position feature", PositionTypes, IsPositionType);
                if (o.ExampleWeightColumnName is not null)
                    Check.Column(s, o.ExampleWeightColumnName, "example weight", "Single", x => x == NumberDataViewType.Single);
            }
        }

        /// <summary>Schema-shape checks mirroring <see cref="ValidateSchema"/> (for pipelines built before data exists).</summary>
        private static void ValidateShape(SchemaShape s, MultiTaskEstimator.Options o)
        {
            bool IsId(SchemaShape.Column c) => c.IsKey || IsIdType(c.ItemType);
            foreach (var f in o.Features)
            {
                switch (f)
                {
                    case PositionFeature:
                        break;   // training only, not needed to score
                    case DenseFeature d:
                        Check.Column(s, d.ColumnName, "dense feature", "Single or a known-size vector of Single", c => Check.IsFloatScalar(c) || Check.IsFloatVector(c));
                        break;
                    case CategoricalFeature c:
                        Check.Column(s, c.ColumnName, "categorical feature", $"a scalar or known-size vector of {IdTypes}",
                            x => x.Kind != SchemaShape.Column.VectorKind.VariableVector && IsId(x));
                        break;
                    case SequenceFeature q:
                        Check.Column(s, q.ColumnName, "sequence feature", $"a vector of {IdTypes}",
                            x => x.Kind != SchemaShape.Column.VectorKind.Scalar && IsId(x));
                        break;
                }
            }
        }

        /// <inheritdoc />
        public SchemaShape GetOutputSchema(SchemaShape inputSchema)
        {
            if (inputSchema is null)
                throw new ArgumentNullException(nameof(inputSchema));
            ValidateShape(inputSchema, _options);
            var plan = PreparationPlan.Create(_context, _options, inputSchema);
            var afterPrep = plan.Estimator.GetOutputSchema(inputSchema);
            // a placeholder graph with the same inputs and outputs lets ML.NET's ONNX estimator give the output shape
            var afterOnnx = OnnxTransformerFactory.GetOutputSchema(_context, MultiTaskSavedForm.Placeholder(plan, _options),
                OutputNames(_options), plan.OnnxInputs.ToArray(), afterPrep);
            return _context.Transforms.DropColumns(plan.TemporaryColumns.ToArray()).GetOutputSchema(afterOnnx);
        }

        /// <summary>Trains the network on <paramref name="input"/> and returns the fitted transformer.</summary>
        public MultiTaskTransformer Fit(IDataView input)
        {
            if (input is null)
                throw new ArgumentNullException(nameof(input));
            var o = _options;
            ValidateSchema(input.Schema, o, needLabels: true);
            if (o.ValidationData is not null)
                ValidateSchema(o.ValidationData.Schema, o, needLabels: true);
            int seed = ContextSeed.Resolve(_context, o.Seed);
            using var log = new RankerLog(_context, "MultiTask");
            // TorchSharp's native library made loadable here (older Linux) and a clear error when no backend package is there
            TorchSharpNative.Prepare(log.Info);
            TorchSharpNative.EnsureBackend();

            // 1. ML.NET preparation: dense concatenation, id -> row mapping (dictionary / hash / key), Int64 conversion.
            var keyData = PreparationPlan.SharedKeyData(_context, o, input);
            var plan = PreparationPlan.Create(_context, o, input.Schema, keyData);
            var prep = plan.Estimator.Fit(input);
            var prepared = prep.Transform(input);

            // 2. The layout: table sizes from the fitted key types, dense statistics from one streaming pass.
            var layout = plan.Layout(prepared.Schema, o, out var cols);
            // pretrained vectors (InitialEmbeddings): the rows they start, through the fitted id encoding
            PretrainedTables.Validate(o);
            PretrainedTables.Apply(_context, o, plan, prepared.Schema, layout, log.Info);
            var train = new BatchReader(prepared, layout, cols, o.ValidationData is null ? o.ValidationFraction : 0f, seed);
            BatchReader? validation = null;
            RowSubset trainSubset = RowSubset.All, validationSubset = RowSubset.All;
            if (o.ValidationData is not null)
                validation = new BatchReader(prep.Transform(o.ValidationData), layout, cols, 0f, seed);
            else if (o.ValidationFraction > 0)
            {
                validation = train;
                trainSubset = RowSubset.TrainingPart;
                validationSubset = RowSubset.ValidationPart;
            }
            long rows = DenseStatistics.Compute(train, trainSubset, layout, o, cols, out ulong dataDigest);
            if (rows == 0)
                throw new InvalidOperationException("The training data has no rows.");
            log.Info($"Training {o.Architecture} on {rows} rows: {layout.Tasks.Count} tasks, {layout.EncodedSize} encoded inputs, {layout.Tables.Count} embedding tables.");

            // 3. Training with TorchSharp.
            var trainer = new MultiTaskTrainer(layout, o, seed, dataDigest);
            var net = trainer.Train(train, validation, trainSubset, validationSubset, log);
            try
            {
                // 4. Every sequence pooling's ONNX export must agree with its TorchSharp forward (user-written ones included).
                if (layout.Sequences.Count > 0)
                    CheckPoolings(net, layout, train, trainSubset, log);
                // 5. Export to ONNX and compose ML.NET's own transforms.
                var bytes = MultiTaskSavedForm.Export(net, layout, plan, o);
                // ApplyOnnxNetwork owns its temporary model file (ApplyOnnxModel(Stream) would leave one behind per Fit).
                var onnx = _context.Ranker().Transforms.ApplyOnnxNetwork(bytes).Fit(prepared);
                var drop = _context.Transforms.DropColumns(plan.TemporaryColumns.ToArray()).Fit(onnx.Transform(prepared));
                var chain = new TransformerChain<ITransformer>(prep, onnx, drop);
                return new MultiTaskTransformer(_context, chain, prep, onnx, net, layout, o, trainer.History, trainer.BestEpoch, bytes, seed, input.Schema);
            }
            catch
            {
                net.Dispose();
                throw;
            }
        }
    }
}
