using System;
using System.Collections.Generic;
using System.Linq;
using MLNetRank.Torch.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNetRank.Torch.MultiTask
{
    /// <summary>
    /// A bias tower: an MLP (no hidden layer = linear) over training-only columns whose output is added to the task's logit
    /// in training and dropped at serving, so the served score is free of the bias those columns explain (e.g. position).
    /// The columns are used as numbers; for a position-bias tower that learns a term per position bucket, use
    /// <see cref="PositionBiasTower"/>.
    /// </summary>
    public sealed class BiasTower : LogitAdjustment
    {
        private readonly string[] _columns;

        /// <summary>A bias tower over <paramref name="inputColumnNames"/> (Single, Int32 or Boolean scalars, or known-size
        /// vectors of Single, concatenated).</summary>
        public BiasTower(params string[] inputColumnNames)
        {
            _columns = NonEmpty(inputColumnNames, nameof(inputColumnNames));
            if (_columns.Length == 0)
                throw new ArgumentException("A bias tower needs at least one input column name.", nameof(inputColumnNames));
        }

        /// <summary>Hidden layers of the tower. Default none (a linear term).</summary>
        public int[] HiddenLayers { get; set; } = Array.Empty<int>();

        /// <summary>Dropout inside the tower. Default 0.</summary>
        public float Dropout { get; set; }

        internal override IReadOnlyList<AdjustmentColumn> Columns() => _columns.Select(c => new AdjustmentColumn(c, AdjustmentColumnKind.Dense)).ToArray();

        internal override nn.Module<Tensor, Tensor> CreateModule(string name, int inputSize)
            => new Tower(name, inputSize, HiddenLayers, Dropout);
    }
}
