using System;
using MLNetRank.Evaluation;

namespace MLNetRank.Torch.MultiTask
{
    /// <summary>
    /// The trainer's validation metrics, computed by the core's one implementation (<see cref="RankerMetrics"/>: the same
    /// log-loss clamp, tie rule and weights as <c>mlContext.Ranker().Evaluate</c>), so the loss that drives early stopping is
    /// the one a user reads in the evaluation. Labels arrive as floats (binary: &gt; 0.5 is positive).
    /// </summary>
    internal static class Metrics
    {
        public static double Auc(float[] scores, float[] labels, float[]? weights = null)
            => RankerMetrics.Auc(scores, Positive(labels), weights);

        public static double LogLoss(float[] probabilities, float[] labels, float[]? weights = null)
            => RankerMetrics.LogLoss(probabilities, Positive(labels), weights);

        public static double Mse(float[] predictions, float[] targets, float[]? weights = null)
        {
            double rmse = RankerMetrics.Rmse(predictions, targets, weights);
            return rmse * rmse;
        }

        private static bool[] Positive(float[] labels) => Array.ConvertAll(labels, y => y > 0.5f);
    }
}
