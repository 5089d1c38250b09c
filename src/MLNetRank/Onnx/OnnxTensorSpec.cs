using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace MLNetRank.Onnx
{
    /// <summary>
    /// The name, element type and shape of an ONNX graph input or output. A dimension of <c>-1</c> is unknown
    /// (the batch dimension when it comes first).
    /// </summary>
    public sealed class OnnxTensorSpec
    {
        /// <summary>Creates a spec.</summary>
        /// <param name="name">Tensor name (the ML.NET column name an <c>OnnxTransformer</c> maps it to).</param>
        /// <param name="elementType">Element type.</param>
        /// <param name="dims">Shape; <c>-1</c> for an unknown dimension.</param>
        public OnnxTensorSpec(string name, TensorElementType elementType, IReadOnlyList<long> dims)
        {
            if (string.IsNullOrWhiteSpace(name))
                throw new ArgumentException("A tensor spec needs a name.", nameof(name));
            Name = name;
            ElementType = elementType;
            Dims = (dims ?? throw new ArgumentNullException(nameof(dims))).ToArray();
        }

        /// <summary>Creates a float spec.</summary>
        /// <param name="name">Tensor name.</param>
        /// <param name="dims">Shape; <c>-1</c> for an unknown dimension.</param>
        public OnnxTensorSpec(string name, params long[] dims) : this(name, TensorElementType.Float, dims) { }

        /// <summary>Tensor name.</summary>
        public string Name { get; }

        /// <summary>Element type.</summary>
        public TensorElementType ElementType { get; }

        /// <summary>Shape; <c>-1</c> for an unknown dimension.</summary>
        public IReadOnlyList<long> Dims { get; }

        /// <summary>True when the first dimension is unknown (a batch of rows).</summary>
        public bool HasBatchDimension => Dims.Count > 0 && Dims[0] < 0;

        /// <summary>
        /// The number of values per row: the product of the dimensions after the batch dimension (all of them
        /// when there is no batch dimension); -1 when one of them is unknown.
        /// </summary>
        public long ValuesPerRow
        {
            get
            {
                long n = 1;
                for (int i = HasBatchDimension ? 1 : 0; i < Dims.Count; i++)
                {
                    if (Dims[i] < 0)
                        return -1;
                    n *= Dims[i];
                }
                return n;
            }
        }

        /// <inheritdoc/>
        public override string ToString() => $"{Name}: {ElementType}[{string.Join(", ", Dims)}]";
    }
}
