using System.Linq;
using MLNetRank.Onnx;

namespace MLNetRank.Debiasing
{
    /// <summary>
    /// Dual learning's saved form (step 4 of the component story, docs/architecture.md): the ranker as an ONNX graph written
    /// with the graph layer (<see cref="OnnxGraphBuilder"/>) and applied by ML.NET's built-in <c>OnnxTransformer</c> through the
    /// one door (<see cref="OnnxTransformerFactory"/>); the propensity curve through <see cref="PropensitySavedForm"/>.
    /// </summary>
    internal static class DualLearningSavedForm
    {
        /// <summary>A graph with the saved form's signature (features in, one score out), for the output schema before training.</summary>
        public static byte[] Placeholder(DualLearningEstimator.Options o)
        {
            var g = new OnnxGraphBuilder("MLNetRankDualLearning");
            var x = g.AddInput(o.FeatureColumnName, new long[] { -1, -2 });
            g.Identity(g.ReduceSum(x, new long[] { 1 }, keepDims: true), o.OutputColumnName);
            g.AddOutput(o.OutputColumnName, new long[] { -1, 1 });
            return g.ToBytes();
        }

        /// <summary>The ranker as ONNX: NaN → the training mean, standardization folded into the first layer, ReLU layers, a
        /// [-1, 1] output.</summary>
        public static byte[] Ranker(DualLearningAlgorithm algo, double[] mean, double[] sd, DualLearningEstimator.Options o)
        {
            var widths = algo.Widths;
            int dim = widths[0];
            var g = new OnnxGraphBuilder("MLNetRankDualLearning");
            var x = g.AddInput(o.FeatureColumnName, new long[] { -1, dim });
            var meanF = mean.Select(m => (float)m).ToArray();
            var mu = g.AddConstant(meanF, new long[] { 1, dim }, "mean");
            var h = g.Where(g.Compare("Equal", x, x), x, mu);   // NaN != NaN: missing -> the mean
            int layers = widths.Length - 1;
            for (int l = 0; l < layers; l++)
            {
                int nIn = widths[l], nOut = widths[l + 1];
                var w = (float[])algo.Weights[l].Clone();
                var b = (float[])algo.Biases[l].Clone();
                if (l == 0)
                {
                    for (int r = 0; r < nOut; r++)
                    {
                        double shift = 0;
                        for (int i = 0; i < nIn; i++)
                        {
                            double wi = w[r * nIn + i] / sd[i];
                            w[r * nIn + i] = (float)wi;
                            shift += wi * mean[i];
                        }
                        b[r] = (float)(b[r] - shift);
                    }
                }
                h = g.Dense(h, w, b, nIn, nOut, weightIsOutByIn: true, output: l == layers - 1 ? o.OutputColumnName : null);
                if (l < layers - 1)
                    h = g.Relu(h);
            }
            g.AddOutput(o.OutputColumnName, new long[] { -1, 1 });
            return g.ToBytes();
        }
    }
}
