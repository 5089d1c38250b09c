using MLNetRank.Common;
using static TorchSharp.torch;

namespace MLNetRank.Torch.Layers
{
    /// <summary>The core's position-bucketing rule (<see cref="PositionBuckets"/>: positions 1..K to rows 0..K-1, later
    /// positions to row K) on TorchSharp tensors of positions the batch reader has already checked (whole, &gt;= 1).</summary>
    internal static class PositionBucketing
    {
        /// <summary>The 0-based bucket (an Int64 tensor) of each checked 1-based position.</summary>
        public static Tensor Of(Tensor positions, int maximumPosition)
            => positions.clamp(Scalars.Of(1), Scalars.Of(maximumPosition + 1)).to_type(ScalarType.Int64).sub(Scalars.Of(1));

        /// <summary>The 0-based bucket of one position (e.g. the serving graph's neutral position).</summary>
        public static long Of(float position, int maximumPosition)
            => PositionBuckets.Of(position, maximumPosition, "NeutralPosition", 0);
    }
}
