using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetRank.Common;

namespace MLNetRank.Torch.Ensemble
{
    /// <summary>
    /// Fuses the scores of several objectives (e.g. the multi-task model's click, buy, stay, follow and comment outputs) into one
    /// ranking score. Fixed formulas need no training; learned ensembles train with TorchSharp on the objectives' labels,
    /// supervised by per-objective cross-entropies (<see cref="ObjectiveEnsembleMethod.BinaryCrossEntropy"/>) or by the sum of
    /// the objectives' AUCs made differentiable (<see cref="ObjectiveEnsembleMethod.HarmonRank"/>), one-step or two-step
    /// relation-aware. Every variant is one ONNX graph applied by ML.NET's <c>OnnxTransformer</c>: a saved model serves with
    /// Microsoft.ML and ONNX Runtime only, and the request scorer serves it (also after the multi-task network in one zip).
    /// Formulas: docs/ensemble.md.
    /// </summary>
    /// <remarks>
    /// <format type="text/markdown"><![CDATA[
    /// ### Estimator Characteristics
    /// |  |  |
    /// | -- | -- |
    /// | Does this estimator need to look at the data to train its parameters? | Learned methods: yes. Fixed formulas: no |
    /// | Input column data type | scores: Single or vector of one Single; labels (training): Boolean, Single, Double or Int32; group (training, optional): key, integer or text |
    /// | Output column data type | `Score` (OutputColumnName) and, two-step, `{Objective}SubScore`: vectors of one Single |
    /// | Required NuGet in addition to Microsoft.ML | MLNetRank.Torch and a TorchSharp backend to train; MLNetRank (Microsoft.ML.OnnxTransformer, Microsoft.ML.OnnxRuntime) to serve |
    /// | Saved as | ML.NET's `OnnxTransformer` (the ensemble as ONNX) |
    /// ]]></format>
    /// </remarks>
    public sealed partial class ObjectiveEnsembleEstimator : IEstimator<ObjectiveEnsembleTransformer>
    {
        private readonly MLContext _context;
        private readonly ObjectiveEnsembleEstimator.Options _options;

        internal ObjectiveEnsembleEstimator(MLContext context, ObjectiveEnsembleEstimator.Options options)
        {
            _context = context ?? throw new ArgumentNullException(nameof(context));
            _options = options ?? throw new ArgumentNullException(nameof(options));
            ValidateOptions(options);
        }

        /// <summary>The options this estimator fits with.</summary>
        public ObjectiveEnsembleEstimator.Options TrainerOptions => _options;

        /// <summary>Output columns of a fitted ensemble, in order: the fused score, then (two-step) <c>{Objective}SubScore</c>.</summary>
        public IReadOnlyList<string> OutputColumnNames => EnsembleSavedForm.OutputNames(_options);

        internal static void ValidateOptions(ObjectiveEnsembleEstimator.Options o)
        {
            if (o.Objectives.Count == 0)
                throw new ArgumentException("ObjectiveEnsembleEstimator.Options.Objectives is empty: declare at least one EnsembleObjective.", nameof(o.Objectives));
            if (o.Objectives.Any(x => x is null))
                throw new ArgumentNullException(nameof(o.Objectives), "ObjectiveEnsembleEstimator.Options.Objectives holds a null objective.");
            var dup = o.Objectives.GroupBy(x => x.Name).FirstOrDefault(g => g.Count() > 1);
            if (dup is not null)
                throw new ArgumentException($"Objective name '{dup.Key}' is used more than once.", nameof(o.Objectives));
            var dupScore = o.Objectives.GroupBy(x => x.ScoreColumnName).FirstOrDefault(g => g.Count() > 1);
            if (dupScore is not null)
                throw new ArgumentException($"Score column '{dupScore.Key}' is the score of more than one objective ({string.Join(", ", dupScore.Select(x => x.Name))}).", nameof(o.Objectives));
            foreach (var x in o.Objectives)
            {
                if (!(x.Weight >= 0) || !float.IsFinite(x.Weight))
                    throw new ArgumentOutOfRangeException(nameof(EnsembleObjective.Weight), $"Objective '{x.Name}': Weight must be a finite number >= 0 (was {x.Weight}).");
                if (!float.IsFinite(x.LabelThreshold))
                    throw new ArgumentOutOfRangeException(nameof(EnsembleObjective.LabelThreshold), $"Objective '{x.Name}': LabelThreshold must be finite (was {x.LabelThreshold}).");
            }
            if (o.Objectives.All(x => x.Weight == 0))
                throw new ArgumentException("Every objective has Weight 0: at least one must count.", nameof(o.Objectives));
            if (string.IsNullOrWhiteSpace(o.OutputColumnName))
                throw new ArgumentException("OutputColumnName must be given.", nameof(o.OutputColumnName));
            if (!Enum.IsDefined(o.Method))
                throw new ArgumentOutOfRangeException(nameof(o.Method), $"Unknown ObjectiveEnsembleMethod {o.Method}.");
            if (o.EncodingDimension < 1 || o.EncodingDimension > 256)
                throw new ArgumentOutOfRangeException(nameof(o.EncodingDimension), $"EncodingDimension must be in [1, 256] (was {o.EncodingDimension}).");
            if (!(o.Temperature > 0) || !float.IsFinite(o.Temperature))
                throw new ArgumentOutOfRangeException(nameof(o.Temperature), $"Temperature must be a finite number > 0 (was {o.Temperature}).");
            if (!(o.SubScoreLossWeight >= 0) || !float.IsFinite(o.SubScoreLossWeight))
                throw new ArgumentOutOfRangeException(nameof(o.SubScoreLossWeight), $"SubScoreLossWeight must be a finite number >= 0 (was {o.SubScoreLossWeight}).");
            if (o.Epochs < 1) throw new ArgumentOutOfRangeException(nameof(o.Epochs), "Epochs must be >= 1.");
            if (o.BatchSize < 2) throw new ArgumentOutOfRangeException(nameof(o.BatchSize), "BatchSize must be >= 2 (pairs of rows are compared).");
            if (!(o.LearningRate > 0) || !double.IsFinite(o.LearningRate)) throw new ArgumentOutOfRangeException(nameof(o.LearningRate), "LearningRate must be a finite number > 0.");
            if (!(o.L2Regularization >= 0)) throw new ArgumentOutOfRangeException(nameof(o.L2Regularization), "L2Regularization must be >= 0.");
            if (o.NumberOfThreads < 0) throw new ArgumentOutOfRangeException(nameof(o.NumberOfThreads), "NumberOfThreads must be >= 0.");
            var names = EnsembleSavedForm.OutputNames(o);
            var clash = names.GroupBy(n => n).FirstOrDefault(g => g.Count() > 1);
            if (clash is not null)
                throw new ArgumentException($"Output column '{clash.Key}' would be produced twice; rename an objective or OutputColumnName.", nameof(o.Objectives));
            var readsOutput = o.Objectives.FirstOrDefault(x => names.Contains(x.ScoreColumnName));
            if (readsOutput is not null)
                throw new ArgumentException($"Objective '{readsOutput.Name}' reads the column '{readsOutput.ScoreColumnName}', which the ensemble writes; choose another OutputColumnName.", nameof(o.OutputColumnName));
        }

        /// <inheritdoc />
        public SchemaShape GetOutputSchema(SchemaShape inputSchema)
        {
            if (inputSchema is null)
                throw new ArgumentNullException(nameof(inputSchema));
            foreach (var x in _options.Objectives)
                Check.Column(inputSchema, x.ScoreColumnName, $"score (objective '{x.Name}')", EnsembleData.ScoreTypes,
                    c => Check.IsFloatScalar(c) || Check.IsFloatVector(c));
            // a graph with the same signature gives the output shape through ML.NET's own ONNX estimator (no pass over data)
            var placeholder = EnsembleSavedForm.Fixed(_options, ObjectiveEnsembleMethod.WeightedLogitSum);
            return _context.Ranker().Transforms.ApplyOnnxNetwork(placeholder).GetOutputSchema(inputSchema);
        }

        /// <summary>Fits the ensemble (a fixed formula reads no data beyond the schema) and returns the fitted transformer.</summary>
        public ObjectiveEnsembleTransformer Fit(IDataView input)
        {
            if (input is null)
                throw new ArgumentNullException(nameof(input));
            var o = _options;
            bool learned = EnsembleSavedForm.IsLearned(o.Method);
            EnsembleData.ValidateSchema(input.Schema, o, training: learned);
            using var log = new RankerLog(_context, "ObjectiveEnsemble");
            if (!learned)
            {
                var bytes = EnsembleSavedForm.Fixed(o, o.Method);
                log.Info($"{o.Method} of {o.Objectives.Count} objectives with weights {string.Join(", ", o.Objectives.Select(x => $"{x.Name} {x.Weight}"))}.");
                var onnx = _context.Ranker().Transforms.ApplyOnnxNetwork(bytes).Fit(input);
                return new ObjectiveEnsembleTransformer(onnx, null, o, bytes, Array.Empty<ObjectiveEnsembleProgress>(), null, null, null, 0);
            }
            // TorchSharp's native library made loadable here (older Linux) and a clear error when no backend package is there
            TorchSharpNative.Prepare(log.Info);
            TorchSharpNative.EnsureBackend();
            int seed = ContextSeed.Resolve(_context, o.Seed);
            var data = EnsembleData.Read(input, o);
            log.Info($"Training the {(o.TwoStep ? "two-step" : "one-step")} {o.Method} ensemble of {data.K} objectives on {data.Rows} rows" +
                     (data.Groups is null ? "." : $" in {data.GroupCount} groups."));
            var trainer = new EnsembleTrainer(o, seed);
            var net = trainer.Train(data, log);
            try
            {
                var bytes = EnsembleSavedForm.Learned(o, net, trainer.Mean, trainer.Sigma);
                var onnx = _context.Ranker().Transforms.ApplyOnnxNetwork(bytes).Fit(input);
                return new ObjectiveEnsembleTransformer(onnx, net, o, bytes, trainer.History, trainer.LabelCorrelations, trainer.Mean, trainer.Sigma, seed);
            }
            catch
            {
                net.Dispose();
                throw;
            }
        }
    }
}
