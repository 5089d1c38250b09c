using System;
using System.Collections.Generic;
using System.Linq;
using MLNetRank.Common;
using MLNetRank.Torch.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace MLNetRank.Torch.MultiTask
{
    /// <summary>
    /// A position-bias tower ("Biasnet"; PAL): a shallow network over the position, as a category (a learned embedding per
    /// position 1..<see cref="MaximumPosition"/> and one shared by all later positions, so any curve such as 1/rank fits),
    /// and optional context columns (ids such as device or page, embedded; dense values). In training its output joins the
    /// task's logit (<see cref="BiasCombination.Additive"/>) or multiplies the task's probability
    /// (<see cref="BiasCombination.Product"/>, PAL); the exported serving model leaves it out, so serving data needs none
    /// of its columns and the served score estimates position-free relevance. Attach it to each task it applies to through
    /// <see cref="TaskSpec.TrainingOnlyLogitAdjustments"/> (each attachment learns its own tower).
    /// </summary>
    public sealed class PositionBiasTower : LogitAdjustment
    {
        /// <summary>A position-bias tower over the 1-based position column <paramref name="positionColumnName"/>
        /// (Single or Int32/Int64/UInt32; whole numbers &gt;= 1).</summary>
        public PositionBiasTower(string positionColumnName = "Position")
        {
            if (string.IsNullOrWhiteSpace(positionColumnName))
                throw new ArgumentException("A position-bias tower needs a position column name.", nameof(positionColumnName));
            PositionColumnName = positionColumnName;
        }

        /// <summary>The 1-based position column.</summary>
        public string PositionColumnName { get; }

        /// <summary>Positions 1..K get their own embedding; all positions &gt; K share one. Default 10.</summary>
        public int MaximumPosition { get; set; } = PositionBuckets.DefaultMaximumPosition;

        /// <summary>Dimension of the position (and context id) embeddings. Default 4.</summary>
        public int EmbeddingDimension { get; set; } = 4;

        /// <summary>Context id columns (key, integer, Boolean or text scalars, e.g. device, page), each embedded in a table of
        /// <c>2^ContextHashBits + 1</c> rows (ids are hashed; key values and small non-negative integers map to their own
        /// row when they fit). Default none.</summary>
        public IList<string> ContextCategoricalColumnNames { get; } = new List<string>();

        /// <summary>Dense context columns (Single, Int32 or Boolean scalars, or known-size vectors of Single), used as is
        /// (scale them beforehand). Default none.</summary>
        public IList<string> ContextDenseColumnNames { get; } = new List<string>();

        /// <summary>Bits of the context id tables (<c>2^bits + 1</c> rows). Default 10.</summary>
        public int ContextHashBits { get; set; } = 10;

        /// <summary>Hidden layers of the tower over the concatenated embeddings and dense context. Default none: a sum of
        /// one learned term per position bucket and per context id (no interactions); add a layer (e.g. [16]) to learn
        /// position × context interactions.</summary>
        public int[] HiddenLayers { get; set; } = Array.Empty<int>();

        /// <summary>Dropout on the tower's input and hidden layers in training (YouTube drops the position feature at
        /// random so that the main network does not lean on the tower). Default 0.</summary>
        public float Dropout { get; set; }

        /// <summary>How the tower joins the task. Default <see cref="BiasCombination.Additive"/>.</summary>
        public BiasCombination Combine { get; set; } = BiasCombination.Additive;

        internal override BiasCombination Combination => Combine;

        internal int ContextRows => (1 << ContextHashBits) + 1;

        internal override IReadOnlyList<AdjustmentColumn> Columns()
        {
            var cols = new List<AdjustmentColumn> { new(PositionColumnName, AdjustmentColumnKind.Position) };
            cols.AddRange(NonEmpty(ContextCategoricalColumnNames, nameof(ContextCategoricalColumnNames)).Select(c => new AdjustmentColumn(c, AdjustmentColumnKind.Category, ContextRows)));
            cols.AddRange(NonEmpty(ContextDenseColumnNames, nameof(ContextDenseColumnNames)).Select(c => new AdjustmentColumn(c, AdjustmentColumnKind.Dense)));
            return cols;
        }

        internal void Validate(string task)
        {
            PositionBuckets.Validate(MaximumPosition, nameof(MaximumPosition), $"Task '{task}': PositionBiasTower");
            if (EmbeddingDimension < 1)
                throw new ArgumentOutOfRangeException(nameof(EmbeddingDimension), $"Task '{task}': PositionBiasTower.EmbeddingDimension must be >= 1 (was {EmbeddingDimension}).");
            if (ContextHashBits < 1 || ContextHashBits > 24)
                throw new ArgumentOutOfRangeException(nameof(ContextHashBits), $"Task '{task}': PositionBiasTower.ContextHashBits must be in [1, 24] (was {ContextHashBits}).");
            if (HiddenLayers is null || HiddenLayers.Any(h => h < 1))
                throw new ArgumentOutOfRangeException(nameof(HiddenLayers), $"Task '{task}': PositionBiasTower.HiddenLayers sizes must be >= 1.");
            if (!(Dropout >= 0 && Dropout < 1))
                throw new ArgumentOutOfRangeException(nameof(Dropout), $"Task '{task}': PositionBiasTower.Dropout must be in [0, 1).");
            var names = Columns().Select(c => c.Name).ToArray();
            var dup = names.GroupBy(n => n).FirstOrDefault(g => g.Count() > 1);
            if (dup is not null)
                throw new ArgumentException($"Task '{task}': column '{dup.Key}' is used more than once by a PositionBiasTower.");
        }

        internal override nn.Module<Tensor, Tensor> CreateModule(string name, int inputSize)
            => new PositionTowerModule(name, this, inputSize);
    }

    /// <summary>Input block <c>[position, context ids..., dense context...]</c> -> one logit per row.</summary>
    internal sealed class PositionTowerModule : nn.Module<Tensor, Tensor>
    {
        private readonly TorchSharp.Modules.Embedding position;
        private readonly TorchSharp.Modules.ModuleList<TorchSharp.Modules.Embedding> context = new();
        private readonly TorchSharp.Modules.Dropout? dropout;
        private readonly Tower tower;
        private readonly int _maxPosition, _denseSize;

        public PositionTowerModule(string name, PositionBiasTower spec, int inputSize) : base(name)
        {
            _maxPosition = spec.MaximumPosition;
            int d = spec.EmbeddingDimension;
            position = Embeddings.Normal(spec.MaximumPosition + 1, d);
            foreach (var _ in spec.ContextCategoricalColumnNames)
            {
                context.Add(Embeddings.Normal(spec.ContextRows, d));
            }
            _denseSize = inputSize - 1 - spec.ContextCategoricalColumnNames.Count;
            if (spec.Dropout > 0)
                dropout = nn.Dropout(spec.Dropout);
            tower = new Tower(name + ".tower", d * (1 + context.Count) + _denseSize, spec.HiddenLayers, spec.Dropout);
            RegisterComponents();
        }

        public override Tensor forward(Tensor x)
        {
            var parts = new List<Tensor> { position.forward(PositionBucketing.Of(x.select(1, 0), _maxPosition)) };
            for (int i = 0; i < context.Count; i++)
                parts.Add(context[i].forward(x.select(1, 1 + i).to_type(ScalarType.Int64)));
            if (_denseSize > 0)
                parts.Add(x.narrow(1, 1 + context.Count, _denseSize));
            var h = parts.Count == 1 ? parts[0] : cat(parts, 1);
            if (dropout is not null)
                h = dropout.forward(h);
            return tower.forward(h);
        }
    }
}
