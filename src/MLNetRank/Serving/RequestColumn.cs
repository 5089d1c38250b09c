using System;
using Microsoft.ML.Data;
using MLNetRank.Onnx;

namespace MLNetRank.Serving
{
    /// <summary>A column a <see cref="ScoringRequest"/> carries: a column of the saved model's input schema that scoring reads.</summary>
    public sealed class RequestColumn
    {
        internal RequestColumn(string name, DataViewType type, Type rawItemType, int valuesPerRow)
        {
            Name = name;
            Type = type;
            RawItemType = rawItemType;
            ValuesPerRow = valuesPerRow;
        }

        /// <summary>Column name.</summary>
        public string Name { get; }

        /// <summary>The column's ML.NET type in the model's input schema.</summary>
        public DataViewType Type { get; }

        /// <summary>The .NET type of one value as the request stores it (a key column stores its raw value, e.g. <see cref="uint"/>).</summary>
        public Type RawItemType { get; }

        /// <summary>Values per row: 1 for a scalar, the size of a known-size vector, 0 for a variable-size vector.</summary>
        public int ValuesPerRow { get; }

        /// <summary>True for a variable-size vector column (set per row with <see cref="ScoringRequest.SetValues{T}(string, int, ReadOnlySpan{T})"/>).</summary>
        public bool IsVariableSize => ValuesPerRow == 0;

        /// <inheritdoc/>
        public override string ToString() => $"{Name}: {Type}";
    }
}
