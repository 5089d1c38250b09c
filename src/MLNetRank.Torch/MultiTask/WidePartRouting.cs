using System;
using System.Collections.Generic;
using System.Linq;

namespace MLNetRank.Torch.MultiTask
{
    /// <summary>
    /// Where the wide part — the encoded features declared <see cref="FeatureSpec.Wide"/> (a dense feature's standardized
    /// values, a categorical feature's embeddings) — enters an MMoE besides its linear term on every task's logit: the
    /// variants of Taobao's "Lying Flat" MMoE (DIN's local activation unit inside MMoE, the linear part fed into the experts
    /// and the gates). The features not declared wide always enter both. Set on
    /// <see cref="MultiTaskEstimator.Options.WidePartRouting"/>; needs <see cref="MultiTaskArchitecture.MMoE"/> for any value other
    /// than the default.
    /// </summary>
    public enum WidePartRouting
    {
        /// <summary>The wide features enter the experts and the gates (the default, and Lying Flat's full model).</summary>
        ExpertsAndGates,

        /// <summary>The wide features enter the experts only; the gates see the other features.</summary>
        ExpertsOnly,

        /// <summary>The wide features enter the gates only: they choose the mixture, the experts see the other features.</summary>
        GatesOnly,

        /// <summary>Neither: the wide features reach the logits through the linear part only.</summary>
        LinearOnly,
    }

    /// <summary>The encoded columns an MMoE's experts and gates read under a <see cref="WidePartRouting"/>: built where the
    /// bottom's input is assembled (the bottom itself only sees two inputs).</summary>
    internal static class WideRouting
    {
        /// <summary>Option checks (when the estimator is created).</summary>
        public static void Validate(MultiTaskEstimator.Options o)
        {
            if (o.WidePartRouting == WidePartRouting.ExpertsAndGates)
                return;
            if (!Enum.IsDefined(o.WidePartRouting))
                throw new ArgumentOutOfRangeException(nameof(o.WidePartRouting), $"WidePartRouting {(int)o.WidePartRouting} is not a defined value.");
            if (o.Architecture != MultiTaskArchitecture.MMoE)
                throw new ArgumentException($"WidePartRouting = {o.WidePartRouting} routes the wide features between an MMoE's experts and gates; Architecture is {o.Architecture}. Use MMoE or leave WidePartRouting at ExpertsAndGates.", nameof(o.WidePartRouting));
            var deep = o.Features.Where(f => f is DenseFeature or CategoricalFeature or SequenceFeature).ToList();
            if (!deep.Any(f => f.Wide))
                throw new ArgumentException($"WidePartRouting = {o.WidePartRouting} needs at least one dense or categorical feature declared Wide = true; none is.", nameof(o.WidePartRouting));
            if (o.Features.All(f => f.Wide))
            {
                string side = o.WidePartRouting switch { WidePartRouting.ExpertsOnly => "gates", WidePartRouting.GatesOnly => "experts", _ => "experts and the gates" };
                throw new ArgumentException($"WidePartRouting = {o.WidePartRouting} leaves the {side} no input: every feature is Wide. Declare at least one feature without Wide.", nameof(o.WidePartRouting));
            }
        }

        /// <summary>Encoded columns of the experts and of the gates, or null when both read every column.</summary>
        public static (long[] Experts, long[] Gates)? Columns(NetworkLayout layout, WidePartRouting routing)
        {
            if (routing == WidePartRouting.ExpertsAndGates)
                return null;
            var wide = new bool[layout.EncodedSize];
            foreach (var s in layout.WideDenseSlots)
                wide[s] = true;
            int at = layout.DenseSize;
            foreach (var c in layout.Categoricals)
            {
                int width = c.Slots * layout.Tables[c.Table].Dimension;
                if (c.Wide)
                    for (int k = 0; k < width; k++)
                        wide[at + k] = true;
                at += width;
            }
            bool toExperts = routing == WidePartRouting.ExpertsOnly, toGates = routing == WidePartRouting.GatesOnly;
            var experts = new List<long>();
            var gates = new List<long>();
            for (int i = 0; i < wide.Length; i++)
            {
                if (!wide[i] || toExperts)
                    experts.Add(i);
                if (!wide[i] || toGates)
                    gates.Add(i);
            }
            if (experts.Count == 0 || gates.Count == 0)
                throw new InvalidOperationException($"WidePartRouting = {routing} leaves the {(experts.Count == 0 ? "experts" : "gates")} no encoded input: declare at least one feature without Wide.");
            return (experts.ToArray(), gates.ToArray());
        }
    }
}
