using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNetRank.Torch.MultiTask
{
    /// <summary>
    /// A term added to a task's logit during training only and left out of the exported (serving) model: the hook of
    /// position-bias towers (PAL, the shallow tower of YouTube's "Recommending what video to watch next"). It reads its own
    /// training-only input columns (e.g. <c>Position</c>), which the serving model never needs.
    /// </summary>
    public abstract class LogitAdjustment
    {
        private protected LogitAdjustment() { }

        /// <summary>Training-only input columns read by this term, in the order it reads them.</summary>
        public IReadOnlyList<string> InputColumnNames => Columns().Select(c => c.Name).ToArray();

        /// <summary>The columns and how each is read into the training-only float block.</summary>
        internal abstract IReadOnlyList<AdjustmentColumn> Columns();

        /// <summary>How the term joins the task's logit (additive for every adjustment but PAL's product form).</summary>
        internal virtual BiasCombination Combination => BiasCombination.Additive;

        internal abstract nn.Module<Tensor, Tensor> CreateModule(string name, int inputSize);

        private protected static string[] NonEmpty(IEnumerable<string>? names, string what)
        {
            var a = names?.ToArray() ?? throw new ArgumentNullException(what);
            if (a.Any(string.IsNullOrWhiteSpace))
                throw new ArgumentException($"{what} contains an empty column name.", what);
            return a;
        }
    }

    /// <summary>How a training-only column is read (all end up as floats in one block per row).</summary>
    internal enum AdjustmentColumnKind
    {
        /// <summary>Single, Int32 or Boolean scalar, or a known-size vector of Single: the value(s) as is.</summary>
        Dense,
        /// <summary>A 1-based position (Single or an integer type): must be finite and &gt;= 1.</summary>
        Position,
        /// <summary>An id (key, integer, Boolean or text): mapped to an embedding row in [0, Rows).</summary>
        Category,
    }

    internal sealed record AdjustmentColumn(string Name, AdjustmentColumnKind Kind, int Rows = 0);

    /// <summary>How a bias tower's output joins the task it adjusts during training.</summary>
    public enum BiasCombination
    {
        /// <summary>Logit of the observed label = task logit + bias logit (the shallow tower of Zhao et al., RecSys 2019).</summary>
        Additive,
        /// <summary>PAL (Guo et al., RecSys 2019): <c>p(observed) = σ(bias logit) · σ(task logit)</c>, i.e. p(seen | position,
        /// context) × p(relevant | x), with binary cross-entropy on the product. Binary tasks only; the served probability is
        /// <c>σ(task logit)</c> = p(relevant | x).</summary>
        Product,
    }
}
