using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML;
using MLNetRank.Common;
using static TorchSharp.torch;

namespace MLNetRank.Torch.Ensemble
{
    /// <summary>
    /// A fitted objective ensemble: scoring adds the fused score (<see cref="ObjectiveEnsembleEstimator.Options.OutputColumnName"/>,
    /// default <c>Score</c>) and, for a two-step learned ensemble, <c>{Objective}SubScore</c>, each a vector of one Single.
    /// Scoring and saving go through ML.NET's <c>OnnxTransformer</c> (<see cref="WrappedTransformer.Inner"/>), so
    /// <c>mlContext.Model.Load</c> gives a model that needs no TorchSharp. Dispose it to release the network and the ONNX session.
    /// </summary>
    public sealed class ObjectiveEnsembleTransformer : WrappedTransformer, IDisposable
    {
        private readonly ITransformer _onnx;
        private EnsembleNetwork? _network;
        private readonly byte[] _onnxModel;
        private readonly float[]? _correlations, _mean, _sigma;

        internal ObjectiveEnsembleTransformer(ITransformer onnx, EnsembleNetwork? network, ObjectiveEnsembleEstimator.Options options, byte[] onnxModel,
            IReadOnlyList<ObjectiveEnsembleProgress> history, float[]? labelCorrelations, float[]? mean, float[]? sigma, int seed)
            : base(onnx)
        {
            _onnx = onnx;
            _network = network;
            Options = options;
            _onnxModel = onnxModel;
            History = history.ToArray();
            _correlations = labelCorrelations;
            _mean = mean;
            _sigma = sigma;
            Seed = seed;
            OutputColumnNames = EnsembleSavedForm.OutputNames(options);
            var names = options.Objectives.Select(x => x.Name).ToArray();
            if (mean is not null && sigma is not null && network?.LogitWeights(sigma) is { } w)
                LogitWeights = names.Select((n, k) => (n, (double)w[k])).ToDictionary(p => p.n, p => p.Item2);
            else if (network is null)
                LogitWeights = options.Method == ObjectiveEnsembleMethod.WeightedLogitSum
                    ? options.Objectives.ToDictionary(x => x.Name, x => (double)x.Weight)
                    : new Dictionary<string, double>();
            else
                LogitWeights = new Dictionary<string, double>();
        }

        /// <summary>The options the ensemble was fitted with.</summary>
        public ObjectiveEnsembleEstimator.Options Options { get; }

        /// <summary>Per-epoch loss and training AUC sum (empty for fixed formulas).</summary>
        public IReadOnlyList<ObjectiveEnsembleProgress> History { get; }

        /// <summary>The seed used by a learned ensemble (the explicit one or the draw from the <see cref="MLContext"/>); 0 for fixed formulas.</summary>
        public int Seed { get; }

        /// <summary>Output columns, in order.</summary>
        public IReadOnlyList<string> OutputColumnNames { get; }

        /// <summary>The weight of each objective's logit in the score, for the linear variants: the given weights of
        /// <see cref="ObjectiveEnsembleMethod.WeightedLogitSum"/>, the learned ones of a one-step learned ensemble
        /// (<c>w_k / σ_k</c>, on the unstandardized logit). Empty otherwise.</summary>
        public IReadOnlyDictionary<string, double> LogitWeights { get; }

        /// <summary>The label correlation matrix (φ coefficients, K x K row-major, objectives in order) a learned ensemble saw in
        /// training; the two-step ensemble's attention prior. Empty for fixed formulas.</summary>
        public IReadOnlyList<float> LabelCorrelations => _correlations ?? Array.Empty<float>();

        /// <summary>The ensemble as an ONNX model (opset 17): one input per score column, the outputs in <see cref="OutputColumnNames"/>.</summary>
        public ReadOnlyMemory<byte> OnnxModel => _onnxModel;

        /// <summary>TorchSharp's fused scores for rows of objective scores as the columns hold them (row-major, K per row): the
        /// export check.</summary>
        internal float[] TorchScores(float[] rawScores)
        {
            var net = _network ?? throw new InvalidOperationException("Only a learned ensemble has a TorchSharp network.");
            int K = Options.Objectives.Count, n = rawScores.Length / K;
            var z = new float[rawScores.Length];
            for (int r = 0; r < n; r++)
                for (int k = 0; k < K; k++)
                {
                    float x = rawScores[r * K + k];
                    if (Options.Objectives[k].ScoreKind == ObjectiveScoreKind.Probability)
                        x = EnsembleData.ToLogit(x);
                    z[r * K + k] = (x - _mean![k]) * (1f / _sigma![k]);
                }
            using var t = tensor(z, new long[] { n, K });
            net.eval();
            return EnsembleTrainer.Scores(net, t);
        }

        /// <summary>Releases the TorchSharp network and the ONNX Runtime session.</summary>
        public void Dispose()
        {
            _network?.Dispose();
            _network = null;
            (_onnx as IDisposable)?.Dispose();
        }
    }
}
