using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetRank.Common;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNetRank.Torch.MultiTask
{
    /// <summary>
    /// A fitted multi-task network. Scoring adds, per task <c>T</c>, <c>TScore</c> (the logit of a binary task; the prediction
    /// in label units of a regression task) and, for binary tasks, <c>TProbability</c> (and <c>TJointProbability</c> for
    /// ESMM tasks): each a vector of one Single; a task with <see cref="PerPositionTowers"/> and
    /// <see cref="PerPositionTowers.OutputAllPositions"/> also adds <c>TPositionScores</c> (and <c>TPositionProbabilities</c>),
    /// vectors of K + 1 Single. Scoring and saving go through ML.NET's own transforms and
    /// <c>OnnxTransformer</c> (<see cref="WrappedTransformer.Inner"/>), so <c>mlContext.Model.Load</c> gives a model that
    /// needs no TorchSharp. Dispose it to release the TorchSharp network and the ONNX session.
    /// </summary>
    public sealed class MultiTaskTransformer : WrappedTransformer, IDisposable
    {
        private readonly MLContext _context;
        private readonly ITransformer _prep;
        private readonly ITransformer _onnx;
        private MultiTaskNetwork? _network;
        private readonly NetworkLayout _layout;
        private readonly byte[] _onnxModel;

        internal MultiTaskTransformer(MLContext context, ITransformer chain, ITransformer prep, ITransformer onnx, MultiTaskNetwork network,
            NetworkLayout layout, MultiTaskEstimator.Options options, IReadOnlyList<MultiTaskEpoch> history, int bestEpoch, byte[] onnxModel, int seed,
            DataViewSchema trainingSchema)
            : base(chain)
        {
            // the features scoring reads (position features, labels and training-only columns are not needed to score)
            ExpectInputs(trainingSchema, options.Features.Where(f => f is not PositionFeature).Select(f => (f.ColumnName, f switch
            {
                DenseFeature => "dense feature",
                CategoricalFeature => "categorical feature",
                SequenceFeature => "sequence feature",
                _ => "feature",
            })).Distinct());
            _context = context;
            _prep = prep;
            _onnx = onnx;
            _network = network;
            _layout = layout;
            Options = options;
            History = history.ToArray();
            BestEpoch = bestEpoch;
            _onnxModel = onnxModel;
            Seed = seed;
            OutputColumnNames = MultiTaskEstimator.OutputNames(options);
        }

        /// <summary>The options the model was trained with.</summary>
        public MultiTaskEstimator.Options Options { get; }

        /// <summary>Per-epoch training loss, throughput, validation metrics and uncertainty log-variances.</summary>
        public IReadOnlyList<MultiTaskEpoch> History { get; }

        /// <summary>The epoch whose weights the model holds (the best validation epoch when validating, else the last).</summary>
        public int BestEpoch { get; }

        /// <summary>The seed used (the explicit one or the draw from the <see cref="MLContext"/>).</summary>
        public int Seed { get; }

        /// <summary>Output columns, in order.</summary>
        public IReadOnlyList<string> OutputColumnNames { get; }

        /// <summary>Learned uncertainty log-variances <c>s_t</c> per task (empty with fixed weights).</summary>
        public IReadOnlyDictionary<string, double> TaskLogVariances
            => History.Count == 0 ? new Dictionary<string, double>() : History[^1].TaskLogVariances;

        /// <summary>The network as an ONNX model (opset 17): inputs are the prepared columns, outputs the task columns.</summary>
        public ReadOnlyMemory<byte> OnnxModel => _onnxModel;

        internal NetworkLayout Layout => _layout;

        internal MultiTaskNetwork Network => _network ?? throw new ObjectDisposedException(nameof(MultiTaskTransformer));

        /// <summary>TorchSharp's outputs on <paramref name="input"/> in the exported columns' order (for export checks):
        /// per output column, one value per row (<c>{Task}Position*</c> vectors: K + 1 values per row, row-major).</summary>
        internal float[][] TorchOutputs(IDataView input, bool training = false)
        {
            var prepared = _prep.Transform(input);
            var o = Options;
            var layout = _layout;
            var reader = new BatchReader(prepared, layout, ReaderColumns(prepared.Schema), 0f, 0);
            var names = OutputColumnNames;
            var result = names.Select(_ => new List<float>()).ToArray();
            var net = Network;
            net.eval();
            var device = torch.device(o.Device);
            reader.Run(RowSubset.All, 512, 0, null, host =>
            {
                using var scope = torch.NewDisposeScope();
                using var _ = no_grad();
                var b = host.ToTensors(device, withAdjustments: training);
                // one forward pass gives the task logits and every per-position tower's logits
                var z = net.Logits(b, training, training, out var positionLogits).cpu();
                var all = positionLogits.Select(p => p?.cpu().data<float>().ToArray()).ToArray();
                var logits = z.data<float>().ToArray();
                var seen = training ? net.LogExamination(b)?.exp().cpu().data<float>().ToArray() : null;
                int T = layout.Tasks.Count;
                for (int r = 0; r < host.Count; r++)
                {
                    int k = 0;
                    for (int t = 0; t < T; t++)
                    {
                        var task = layout.Tasks[t];
                        float x = logits[r * T + t];
                        if (task.Kind == MultiTaskKind.Regression)
                            result[k++].Add(task.Transform == LabelTransform.Log1p ? MathF.Exp(x) - 1f : x);
                        else
                        {
                            // with PAL towers the training-time probability is the observed one, p(seen) · σ(x)
                            result[k++].Add(x);
                            result[k++].Add((seen is null || task.Parent >= 0 ? 1f : seen[r * T + t]) / (1f + MathF.Exp(-x)));
                        }
                        if (task.Parent >= 0)
                        {
                            float pp = (seen is null ? 1f : seen[r * T + task.Parent]) / (1f + MathF.Exp(-logits[r * T + task.Parent]));
                            result[k++].Add(pp * (1f / (1f + MathF.Exp(-x))));
                        }
                        if (task.PositionTowers is { OutputAllPositions: true } pt)
                        {
                            int width = pt.MaximumPosition + 1;
                            for (int j = 0; j < width; j++)
                            {
                                float v = all[t]![r * width + j];
                                result[k].Add(task.Kind == MultiTaskKind.Regression && task.Transform == LabelTransform.Log1p ? MathF.Exp(v) - 1f : v);
                                if (task.Kind == MultiTaskKind.Binary)
                                    result[k + 1].Add(1f / (1f + MathF.Exp(-v)));
                            }
                            k += task.Kind == MultiTaskKind.Binary ? 2 : 1;
                        }
                    }
                }
            });
            return result.Select(r => r.ToArray()).ToArray();
        }

        private BatchReader.ColumnNames ReaderColumns(DataViewSchema prepared)
        {
            var plan = PreparationPlan.Create(_context, Options, prepared, null);
            plan.Layout(prepared, Options, out var cols);
            return cols;
        }

        /// <summary>Releases the TorchSharp network and the ONNX Runtime session (and its temporary model file).</summary>
        public void Dispose()
        {
            _network?.Dispose();
            _network = null;
            (_onnx as IDisposable)?.Dispose();
        }
    }
}
