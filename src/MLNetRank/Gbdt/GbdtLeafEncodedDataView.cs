using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNetRank.Gbdt
{
    /// <summary>
    /// The output of <see cref="GbdtLeafEncodingTransformer.Transform"/>: the input columns plus the leaf-id (and indicator)
    /// columns computed lazily by the fast <see cref="GbdtLeafEncoder"/>, with exactly the schema (types, key values, slot
    /// names) of the saved chain of built-in transformers, which gives the same values (tested). Cursor sets follow the
    /// input's, so ML.NET consumers that read in parallel encode in parallel.
    /// </summary>
    internal sealed class GbdtLeafEncodedDataView : IDataView
    {
        private readonly IDataView _input;
        private readonly GbdtLeafEncoder _encoder;
        private readonly int _featureIndex;
        private readonly int _leafIdsIndex;
        private readonly int _indicatorIndex;

        private GbdtLeafEncodedDataView(IDataView input, DataViewSchema schema, GbdtLeafEncoder encoder, int featureIndex, int leafIdsIndex, int indicatorIndex)
        {
            _input = input;
            Schema = schema;
            _encoder = encoder;
            _featureIndex = featureIndex;
            _leafIdsIndex = leafIdsIndex;
            _indicatorIndex = indicatorIndex;
        }

        /// <summary>
        /// Wraps <paramref name="input"/> when the saved chain's output schema is the input schema plus the new columns at
        /// the end (the normal case); returns null otherwise (the caller then uses the saved chain).
        /// </summary>
        public static GbdtLeafEncodedDataView? TryCreate(IDataView input, DataViewSchema outputSchema, GbdtLeafEncoder encoder,
            string featureColumn, string leafIdsColumn, string? indicatorColumn)
        {
            var inSchema = input.Schema;
            int added = string.IsNullOrEmpty(indicatorColumn) ? 1 : 2;
            if (outputSchema.Count != inSchema.Count + added)
                return null;
            for (int i = 0; i < inSchema.Count; i++)
                if (outputSchema[i].Name != inSchema[i].Name || !outputSchema[i].Type.Equals(inSchema[i].Type))
                    return null;
            int leafIds = inSchema.Count, indicator = -1;
            if (outputSchema[leafIds].Name != leafIdsColumn)
                return null;
            if (added == 2)
            {
                indicator = leafIds + 1;
                if (outputSchema[indicator].Name != indicatorColumn)
                    return null;
            }
            var feature = inSchema.GetColumnOrNull(featureColumn);
            if (feature is null)
                return null;
            return new GbdtLeafEncodedDataView(input, outputSchema, encoder, feature.Value.Index, leafIds, indicator);
        }

        public bool CanShuffle => _input.CanShuffle;

        public DataViewSchema Schema { get; }

        public long? GetRowCount() => _input.GetRowCount();

        public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
        {
            var (active, inputColumns) = Active(columnsNeeded);
            return new Cursor(this, _input.GetRowCursor(inputColumns, rand), active);
        }

        public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null)
        {
            var (active, inputColumns) = Active(columnsNeeded);
            return _input.GetRowCursorSet(inputColumns, n, rand).Select(c => (DataViewRowCursor)new Cursor(this, c, active)).ToArray();
        }

        private (bool[] Active, List<DataViewSchema.Column> InputColumns) Active(IEnumerable<DataViewSchema.Column> columnsNeeded)
        {
            var active = new bool[Schema.Count];
            foreach (var c in columnsNeeded)
            {
                if (c.Index < 0 || c.Index >= Schema.Count || Schema[c.Index].Name != c.Name)
                    throw new ArgumentOutOfRangeException(nameof(columnsNeeded), $"Column '{c.Name}' does not belong to this data view.");
                active[c.Index] = true;
            }
            var inputColumns = new List<DataViewSchema.Column>();
            bool encode = active[_leafIdsIndex] || (_indicatorIndex >= 0 && active[_indicatorIndex]);
            for (int i = 0; i < _input.Schema.Count; i++)
                if (active[i] || (encode && i == _featureIndex))
                    inputColumns.Add(_input.Schema[i]);
            return (active, inputColumns);
        }

        private sealed class Cursor : DataViewRowCursor
        {
            private readonly GbdtLeafEncodedDataView _parent;
            private readonly DataViewRowCursor _input;
            private readonly bool[] _active;
            private readonly ValueGetter<VBuffer<float>>? _features;
            private readonly int[] _leaves;
            private VBuffer<float> _featureBuffer;
            private float[] _dense;
            private long _encodedPosition = -1;

            public Cursor(GbdtLeafEncodedDataView parent, DataViewRowCursor input, bool[] active)
            {
                _parent = parent;
                _input = input;
                _active = active;
                _leaves = new int[parent._encoder.TreeCount];
                _dense = new float[parent._encoder.FeatureCount];
                if (input.IsColumnActive(input.Schema[parent._featureIndex]))
                    _features = input.GetGetter<VBuffer<float>>(input.Schema[parent._featureIndex]);
            }

            public override DataViewSchema Schema => _parent.Schema;

            public override long Position => _input.Position;

            public override long Batch => _input.Batch;

            public override ValueGetter<DataViewRowId> GetIdGetter() => _input.GetIdGetter();

            public override bool IsColumnActive(DataViewSchema.Column column) => column.Index < _active.Length && _active[column.Index];

            public override bool MoveNext() => _input.MoveNext();

            private void Encode()
            {
                if (_encodedPosition == _input.Position)
                    return;
                _features!(ref _featureBuffer);
                if (_featureBuffer.Length != _dense.Length)
                    throw new InvalidOperationException($"Column '{_input.Schema[_parent._featureIndex].Name}' has a vector of {_featureBuffer.Length} values; the trees need {_dense.Length}.");
                _featureBuffer.CopyTo(_dense);
                _parent._encoder.Encode(_dense, _leaves);
                _encodedPosition = _input.Position;
            }

            public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
            {
                if (!IsColumnActive(column))
                    throw new ArgumentOutOfRangeException(nameof(column), $"Column '{column.Name}' is not active in this cursor.");
                var encoder = _parent._encoder;
                if (column.Index == _parent._leafIdsIndex)
                {
                    ValueGetter<VBuffer<uint>> getter = (ref VBuffer<uint> value) =>
                    {
                        Encode();
                        var editor = VBufferEditor.Create(ref value, _leaves.Length);
                        for (int t = 0; t < _leaves.Length; t++)
                            editor.Values[t] = (uint)_leaves[t] + 1;
                        value = editor.Commit();
                    };
                    return getter as ValueGetter<TValue> ?? throw new InvalidOperationException($"Column '{column.Name}' is read as VBuffer<UInt32>, not {typeof(TValue).Name}.");
                }
                if (column.Index == _parent._indicatorIndex)
                {
                    ValueGetter<VBuffer<float>> getter = (ref VBuffer<float> value) =>
                    {
                        Encode();
                        if (encoder.TotalLeafCount == _leaves.Length)
                        {
                            // Only single-leaf trees: every slot is 1.
                            var dense = VBufferEditor.Create(ref value, encoder.TotalLeafCount);
                            dense.Values.Fill(1f);
                            value = dense.Commit();
                            return;
                        }
                        // Sparse: one 1 per tree, at increasing positions (trees' leaf ranges are disjoint and in order).
                        var editor = VBufferEditor.Create(ref value, encoder.TotalLeafCount, _leaves.Length);
                        for (int t = 0; t < _leaves.Length; t++)
                        {
                            editor.Indices[t] = encoder.LeafOffsets[t] + _leaves[t];
                            editor.Values[t] = 1f;
                        }
                        value = editor.Commit();
                    };
                    return getter as ValueGetter<TValue> ?? throw new InvalidOperationException($"Column '{column.Name}' is read as VBuffer<Single>, not {typeof(TValue).Name}.");
                }
                return _input.GetGetter<TValue>(_input.Schema[column.Index]);
            }

            protected override void Dispose(bool disposing)
            {
                if (disposing)
                    _input.Dispose();
                base.Dispose(disposing);
            }
        }
    }
}
