using System;
using System.Collections.Generic;
using System.Linq;
using static TorchSharp.torch;

namespace MLNetRank.Torch.MultiTask
{
    /// <summary>The resolved shape of a network: what the batch reader assembles and what the modules consume.</summary>
    internal sealed class NetworkLayout
    {
        public int DenseSize;
        public float[] DenseMean = Array.Empty<float>();
        public float[] DenseInvStd = Array.Empty<float>();
        public int[] WideDenseSlots = Array.Empty<int>();
        public List<CategoricalInput> Categoricals = new();
        public List<SequenceInput> Sequences = new();
        public List<EmbeddingTable> Tables = new();
        public List<string> PositionColumns = new();   // training-only position columns of per-position towers
        public List<TaskInfo> Tasks = new();
        public List<AdjustmentInput> Adjustments = new();
        public int AdjustmentSize;
        public PositionInput? Position;

        public int EncodedSize => DenseSize
            + Categoricals.Sum(c => c.Slots * Tables[c.Table].Dimension)
            + Sequences.Sum(s => s.OutputSize)
            + (Position?.Spec.EmbeddingDimension ?? 0);
    }

    internal sealed class EmbeddingTable
    {
        public string Name = "";
        public long Rows;
        public int Dimension;
        /// <summary>Rows started from pretrained vectors (null: none) and their values, row-major [InitialRows.Length, Dimension].</summary>
        public long[]? InitialRows;
        public float[]? InitialValues;
        /// <summary>The table stays at its start (excluded from the optimizer).</summary>
        public bool Frozen;
    }

    internal sealed class CategoricalInput
    {
        public string Name = "";        // user-facing column
        public string Column = "";      // prepared Int64 vector column (ONNX input)
        public int Slots;
        public int Table;
        public bool Wide;
        /// <summary>Rows per slot when each slot has its own id space (slot s's id k is row s * SlotStride + k); 0 when the
        /// slots share one space. The batch reader and the exported graph add the offsets.</summary>
        public long SlotStride;
    }

    internal sealed class SequenceInput
    {
        public string Name = "";
        public string Column = "";      // prepared Int64 variable vector column (ONNX input)
        public int Table;
        public int MaximumLength;
        public int KnownLength;         // the prepared column's size when it is a known-size vector, else 0 (variable)
        public SequencePooling Pooling = new MeanSequencePooling();
        public int OutputSize;
        public bool SameForAllCandidates;
        public List<(bool IsSequence, int Index)> Queries = new();
    }

    internal sealed class TaskInfo
    {
        public string Name = "";
        public string Label = "";
        public MultiTaskKind Kind;
        public LabelTransform Transform;
        public int Parent = -1;
        public float CounterfactualWeight;
        public float Weight = 1f;
        public int[] TowerLayers = Array.Empty<int>();
        public List<int> Adjustments = new();
        public PerPositionTowers? PositionTowers;       // null = one tower
        public int PositionInput = -1;                  // index into NetworkLayout.PositionColumns
    }

    internal sealed class AdjustmentInput
    {
        public LogitAdjustment Spec = null!;
        public int Offset;
        public int Size;
    }

    /// <summary>Position as a feature (method 1): its slot in the training-only block.</summary>
    internal sealed class PositionInput
    {
        public PositionFeature Spec = null!;
        public int Offset;
    }

    /// <summary>The tensors of one mini-batch (created from one host batch, disposed with its scope).</summary>
    internal sealed class BatchTensors
    {
        public Tensor? Dense;
        public Tensor[] Categoricals = Array.Empty<Tensor>();
        public Tensor[] Sequences = Array.Empty<Tensor>();
        public Tensor? Adjustments;
        public Tensor? Positions;       // [B, P] 1-based positions (per-position towers), read when the layout has any
        public Tensor Labels = null!;   // [B, T]
        public Tensor Mask = null!;     // [B, T]
        public Tensor? Weights;         // [B]
        public long Count;
    }
}
