using System;
using System.Linq;

namespace MLNetRank.Serving.Native
{
    /// <summary>
    /// The trained parameters of the V4 live-stream transformer (MLNetRank.Torch's <c>TransformerPooling</c> with the
    /// summary-token output) in PyTorch's layout, as the exporter records them next to the ONNX graph: the configuration,
    /// then one float array (<see cref="Pack"/> order).
    /// </summary>
    internal sealed class TransformerParameters
    {
        public int Dimension { get; init; }
        public int Heads { get; init; }
        public int FeedForward { get; init; }
        public int Layers { get; init; }
        /// <summary>Rows of the position table (recency positions are clamped to Positions − 1).</summary>
        public int Positions { get; init; }
        /// <summary>Room token types (one per room token feature); the user's tokens are type Segments, the summary Segments + 1.</summary>
        public int Segments { get; init; }
        /// <summary>[Segments + 2, d].</summary>
        public float[] TypeEmbedding { get; init; } = Array.Empty<float>();
        /// <summary>[Positions, d].</summary>
        public float[] PositionEmbedding { get; init; } = Array.Empty<float>();
        /// <summary>[d].</summary>
        public float[] Summary { get; init; } = Array.Empty<float>();
        public LayerParameters[] LayerParameters { get; init; } = Array.Empty<LayerParameters>();
        /// <summary>The final layer norm's gain and bias, [d] each.</summary>
        public float[] FinalGain { get; init; } = Array.Empty<float>();
        public float[] FinalBias { get; init; } = Array.Empty<float>();

        /// <summary>The number of floats of <see cref="Pack"/> for a configuration.</summary>
        public static int PackedLength(int d, int ff, int layers, int positions, int segments)
            => (segments + 2) * d + positions * d + d + layers * (4 * d + 3 * d * d + 3 * d + d * d + d + ff * d + ff + d * ff + d) + 2 * d;

        /// <summary>All parameters in one array: type, position, summary, per layer (ln1 gain, ln1 bias, qkv weight [3d, d],
        /// qkv bias, proj weight [d, d], proj bias, ln2 gain, ln2 bias, ff1 weight [ff, d], ff1 bias, ff2 weight [d, ff],
        /// ff2 bias), final gain, final bias.</summary>
        public float[] Pack()
        {
            var parts = new[] { TypeEmbedding, PositionEmbedding, Summary }
                .Concat(LayerParameters.SelectMany(l => new[] { l.Norm1Gain, l.Norm1Bias, l.QkvWeight, l.QkvBias, l.ProjWeight, l.ProjBias, l.Norm2Gain, l.Norm2Bias, l.Ff1Weight, l.Ff1Bias, l.Ff2Weight, l.Ff2Bias }))
                .Concat(new[] { FinalGain, FinalBias });
            return parts.SelectMany(p => p).ToArray();
        }

        /// <summary>The inverse of <see cref="Pack"/>; throws when the length does not match the configuration.</summary>
        public static TransformerParameters Unpack(int d, int heads, int ff, int layers, int positions, int segments, float[] packed)
        {
            if (d <= 0 || heads <= 0 || ff <= 0 || layers <= 0 || positions <= 0 || segments <= 0)
                throw new ArgumentOutOfRangeException(nameof(d), $"Transformer configuration out of range (d {d}, heads {heads}, ff {ff}, layers {layers}, positions {positions}, segments {segments}).");
            int expected = PackedLength(d, ff, layers, positions, segments);
            if (packed.Length != expected)
                throw new ArgumentException($"The transformer's parameters hold {packed.Length} floats; the configuration needs {expected}.", nameof(packed));
            int at = 0;
            float[] Take(int n)
            {
                var a = packed.AsSpan(at, n).ToArray();
                at += n;
                return a;
            }
            var type = Take((segments + 2) * d);
            var pos = Take(positions * d);
            var summary = Take(d);
            var ls = new LayerParameters[layers];
            for (int l = 0; l < layers; l++)
                ls[l] = new LayerParameters
                {
                    Norm1Gain = Take(d), Norm1Bias = Take(d), QkvWeight = Take(3 * d * d), QkvBias = Take(3 * d), ProjWeight = Take(d * d), ProjBias = Take(d),
                    Norm2Gain = Take(d), Norm2Bias = Take(d), Ff1Weight = Take(ff * d), Ff1Bias = Take(ff), Ff2Weight = Take(d * ff), Ff2Bias = Take(d),
                };
            return new TransformerParameters
            {
                Dimension = d, Heads = heads, FeedForward = ff, Layers = layers, Positions = positions, Segments = segments,
                TypeEmbedding = type, PositionEmbedding = pos, Summary = summary, LayerParameters = ls, FinalGain = Take(d), FinalBias = Take(d),
            };
        }
    }

    /// <summary>One pre-norm layer's parameters (PyTorch layout: Linear weights are [out, in]).</summary>
    internal sealed class LayerParameters
    {
        public float[] Norm1Gain = Array.Empty<float>(), Norm1Bias = Array.Empty<float>();
        public float[] QkvWeight = Array.Empty<float>(), QkvBias = Array.Empty<float>();
        public float[] ProjWeight = Array.Empty<float>(), ProjBias = Array.Empty<float>();
        public float[] Norm2Gain = Array.Empty<float>(), Norm2Bias = Array.Empty<float>();
        public float[] Ff1Weight = Array.Empty<float>(), Ff1Bias = Array.Empty<float>();
        public float[] Ff2Weight = Array.Empty<float>(), Ff2Bias = Array.Empty<float>();
    }

    /// <summary>
    /// The kernel's form of <see cref="TransformerParameters"/> (immutable, shared by all requests): each layer norm's gain
    /// and bias folded into the linear layer after it, the query rows scaled by 1/sqrt(head dimension), and transposed
    /// copies ([in, out]) for the single-token products of the summary's last layer. Folds are computed in double.
    /// </summary>
    internal sealed class TransformerBlock
    {
        /// <summary>Why the kernel cannot run this configuration (null: it can).</summary>
        public static string? Unsupported(int d, int heads, int ff)
        {
            if (d % 16 != 0 || d > 64)
                return $"embedding dimension {d} (the kernel needs a multiple of 16, at most 64)";
            if (heads <= 0 || d % heads != 0 || (d / heads) % 4 != 0)
                return $"{heads} heads of dimension d / heads (the kernel needs a head dimension that is a multiple of 4)";
            if (ff % 16 != 0)
                return $"feed-forward size {ff} (the kernel needs a multiple of 16)";
            return null;
        }

        public TransformerBlock(TransformerParameters p)
        {
            if (Unsupported(p.Dimension, p.Heads, p.FeedForward) is { } why)
                throw new NotSupportedException("The native transformer kernel does not support " + why + ".");
            D = p.Dimension;
            Heads = p.Heads;
            HeadDim = D / Heads;
            Ff = p.FeedForward;
            LayerCount = p.Layers;
            Positions = p.Positions;
            Segments = p.Segments;
            TypeEmbedding = p.TypeEmbedding;
            PositionEmbedding = p.PositionEmbedding;
            SummaryToken = new float[D];
            for (int i = 0; i < D; i++)
                SummaryToken[i] = p.Summary[i] + p.TypeEmbedding[(Segments + 1) * D + i];
            FinalGain = p.FinalGain;
            FinalBias = p.FinalBias;
            double scale = 1.0 / Math.Sqrt(HeadDim);
            Layers = p.LayerParameters.Select(l =>
            {
                var (qkv, qkvB) = Fold(l.QkvWeight, l.QkvBias, l.Norm1Gain, l.Norm1Bias, 3 * D, D, o => o < D ? scale : 1.0);
                var (ff1, ff1B) = Fold(l.Ff1Weight, l.Ff1Bias, l.Norm2Gain, l.Norm2Bias, Ff, D, _ => 1.0);
                return new Layer
                {
                    Qkv = qkv, QkvBias = qkvB, Proj = l.ProjWeight, ProjBias = l.ProjBias, Ff1 = ff1, Ff1Bias = ff1B, Ff2 = l.Ff2Weight, Ff2Bias = l.Ff2Bias,
                    QT = Transpose(qkv, D, D), ProjT = Transpose(l.ProjWeight, D, D), Ff1T = Transpose(ff1, Ff, D), Ff2T = Transpose(l.Ff2Weight, D, Ff),
                };
            }).ToArray();
        }

        public int D { get; }
        public int Heads { get; }
        public int HeadDim { get; }
        public int Ff { get; }
        public int LayerCount { get; }
        public int Positions { get; }
        public int Segments { get; }
        public float[] TypeEmbedding { get; }
        public float[] PositionEmbedding { get; }
        /// <summary>The summary token's input: summary + its type embedding.</summary>
        public float[] SummaryToken { get; }
        public float[] FinalGain { get; }
        public float[] FinalBias { get; }
        public Layer[] Layers { get; }

        internal sealed class Layer
        {
            /// <summary>[3d, d] (out, in), LN1 folded, query rows scaled.</summary>
            public float[] Qkv = Array.Empty<float>(), QkvBias = Array.Empty<float>();
            public float[] Proj = Array.Empty<float>(), ProjBias = Array.Empty<float>();
            /// <summary>[ff, d], LN2 folded.</summary>
            public float[] Ff1 = Array.Empty<float>(), Ff1Bias = Array.Empty<float>();
            public float[] Ff2 = Array.Empty<float>(), Ff2Bias = Array.Empty<float>();
            /// <summary>Transposed ([in, out]): the query rows of Qkv [d, d], Proj, Ff1 [d, ff], Ff2 [ff, d].</summary>
            public float[] QT = Array.Empty<float>(), ProjT = Array.Empty<float>(), Ff1T = Array.Empty<float>(), Ff2T = Array.Empty<float>();
        }

        /// <summary>W' = diag(s)·W·diag(γ), b' = s ⊙ (b + W·β): the linear layer applied to (x − mean)·rstd.</summary>
        private static (float[] W, float[] B) Fold(float[] w, float[] b, float[] gamma, float[] beta, int outs, int ins, Func<int, double> rowScale)
        {
            var fw = new float[outs * ins];
            var fb = new float[outs];
            for (int o = 0; o < outs; o++)
            {
                double s = rowScale(o), bias = b[o];
                for (int i = 0; i < ins; i++)
                {
                    fw[o * ins + i] = (float)(s * w[o * ins + i] * gamma[i]);
                    bias += (double)w[o * ins + i] * beta[i];
                }
                fb[o] = (float)(s * bias);
            }
            return (fw, fb);
        }

        /// <summary>The first <paramref name="rows"/> rows of a row-major [rows, cols] matrix, transposed to [cols, rows].</summary>
        private static float[] Transpose(float[] w, int rows, int cols)
        {
            var t = new float[rows * cols];
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < cols; c++)
                    t[c * rows + r] = w[r * cols + c];
            return t;
        }
    }
}
