using System.Collections.Generic;
using System.Text;
using Microsoft.ML;

namespace MLNetRank.Debiasing
{
    /// <summary>
    /// The position-propensity curve's saved form (step 4 of the component story, docs/architecture.md): ML.NET's built-in
    /// <c>Expression</c> transform, so a saved propensity model (and the propensity part of dual learning) loads and scores with
    /// no MLNetRank code.
    /// </summary>
    internal static class PropensitySavedForm
    {
        /// <summary>The saved form: a chain of conditionals on the position, pooling positions ≥ K, NaN for invalid positions.</summary>
        public static IEstimator<ITransformer> Build(MLContext context, string positionColumn, string outputColumn, IReadOnlyList<double> curve)
        {
            int k = curve.Count;
            var sb = new StringBuilder("p => ");
            sb.Append("p >= ").Append(k).Append(" ? ").Append(DebiasingColumns.Literal(curve[k - 1])).Append(" : ");
            for (int b = 0; b < k - 1; b++)
                sb.Append("p == ").Append(b + 1).Append(" ? ").Append(DebiasingColumns.Literal(curve[b])).Append(" : ");
            sb.Append("na(1.0)");
            return context.Transforms.Expression(outputColumn, sb.ToString(), positionColumn);
        }
    }
}
