using System;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNetRank.Simulation
{
    /// <summary>
    /// The impressions as a streaming <see cref="IDataView"/>: a cursor regenerates each request from (seed, request index),
    /// so any number of rows is served with memory bounded by the world and one request.
    /// </summary>
    internal sealed class ImpressionDataView : IDataView
    {
        private readonly World _world;
        private readonly long _firstRequest, _requestCount;

        internal const int ColRequestId = 0, ColUserId = 1, ColLiveId = 2, ColTime = 3, ColPosition = 4, ColIsRandomized = 5,
            ColStat = 6, ColItemSeq = 7, ColLiveSeq = 8, ColOnSale = 9, ColCore = 10, ColClick = 11, ColBuy = 12, ColStay = 13,
            ColFollow = 14, ColComment = 15, ColTrueAttraction = 16, ColTrueConversion = 17, ColTrueExamination = 18, ColTrueRelevance = 19, ColTrueObjectives = 20;

        public ImpressionDataView(World world, long firstRequest, long requestCount)
        {
            _world = world;
            _firstRequest = firstRequest;
            _requestCount = requestCount;
            Schema = BuildSchema();
        }

        public bool CanShuffle => false;

        public DataViewSchema Schema { get; }

        public long? GetRowCount() => _requestCount * _world.Options.ListSize;

        public DataViewRowCursor GetRowCursor(System.Collections.Generic.IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
            => new Cursor(this, columnsNeeded);

        public DataViewRowCursor[] GetRowCursorSet(System.Collections.Generic.IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null)
            => new[] { GetRowCursor(columnsNeeded, rand) };

        internal static DataViewSchema BuildSchema()
        {
            var b = new DataViewSchema.Builder();
            b.AddColumn(ImpressionColumns.RequestId, NumberDataViewType.UInt32);
            b.AddColumn(ImpressionColumns.UserId, NumberDataViewType.UInt32);
            b.AddColumn(ImpressionColumns.LiveId, NumberDataViewType.UInt32);
            b.AddColumn(ImpressionColumns.Time, NumberDataViewType.Single);
            b.AddColumn(ImpressionColumns.Position, NumberDataViewType.Int32);
            b.AddColumn(ImpressionColumns.IsRandomized, BooleanDataViewType.Instance);
            var names = ImpressionColumns.StatFeatureNames.Select(s => s.AsMemory()).ToArray();
            var ab = new DataViewSchema.Annotations.Builder();
            ab.Add<VBuffer<ReadOnlyMemory<char>>>("SlotNames", new VectorDataViewType(TextDataViewType.Instance, names.Length), (ref VBuffer<ReadOnlyMemory<char>> dst) =>
            {
                var ed = VBufferEditor.Create(ref dst, names.Length);
                names.CopyTo(ed.Values);
                dst = ed.Commit();
            });
            b.AddColumn(ImpressionColumns.StatFeatures, new VectorDataViewType(NumberDataViewType.Single, names.Length), ab.ToAnnotations());
            var varU32 = new VectorDataViewType(NumberDataViewType.UInt32);
            b.AddColumn(ImpressionColumns.UserItemSeq, varU32);
            b.AddColumn(ImpressionColumns.UserLiveSeq, varU32);
            b.AddColumn(ImpressionColumns.LiveItemsOnSale, varU32);
            b.AddColumn(ImpressionColumns.LiveCoreItems, varU32);
            b.AddColumn(ImpressionColumns.Click, BooleanDataViewType.Instance);
            b.AddColumn(ImpressionColumns.Buy, BooleanDataViewType.Instance);
            b.AddColumn(ImpressionColumns.StayTime, NumberDataViewType.Single);
            b.AddColumn(ImpressionColumns.Follow, BooleanDataViewType.Instance);
            b.AddColumn(ImpressionColumns.Comment, BooleanDataViewType.Instance);
            b.AddColumn(ImpressionColumns.TrueAttraction, NumberDataViewType.Single);
            b.AddColumn(ImpressionColumns.TrueConversion, NumberDataViewType.Single);
            b.AddColumn(ImpressionColumns.TrueExamination, NumberDataViewType.Single);
            b.AddColumn(ImpressionColumns.TrueRelevance, NumberDataViewType.Single);
            var objectives = ImpressionColumns.ObjectiveNames.Select(s => s.AsMemory()).ToArray();
            var ob = new DataViewSchema.Annotations.Builder();
            ob.Add<VBuffer<ReadOnlyMemory<char>>>("SlotNames", new VectorDataViewType(TextDataViewType.Instance, objectives.Length), (ref VBuffer<ReadOnlyMemory<char>> dst) =>
            {
                var ed = VBufferEditor.Create(ref dst, objectives.Length);
                objectives.CopyTo(ed.Values);
                dst = ed.Commit();
            });
            b.AddColumn(ImpressionColumns.TrueObjectives, new VectorDataViewType(NumberDataViewType.Single, objectives.Length), ob.ToAnnotations());
            return b.ToSchema();
        }

        private sealed class Cursor : DataViewRowCursor
        {
            private readonly ImpressionDataView _parent;
            private readonly bool[] _active;
            private readonly RequestGenerator _gen;
            private readonly int _n;
            private long _position = -1;
            private int _slot; // position within the current request
            private bool _disposed, _done;

            public Cursor(ImpressionDataView parent, System.Collections.Generic.IEnumerable<DataViewSchema.Column> columnsNeeded)
            {
                _parent = parent;
                _active = new bool[parent.Schema.Count];
                foreach (var c in columnsNeeded)
                    _active[c.Index] = true;
                _gen = new RequestGenerator(parent._world);
                _n = parent._world.Options.ListSize;
            }

            public override DataViewSchema Schema => _parent.Schema;

            public override long Position => _position;

            public override long Batch => 0;

            public override bool IsColumnActive(DataViewSchema.Column column) => _active[column.Index];

            public override bool MoveNext()
            {
                if (_disposed || _done)
                    return false;
                long total = _parent._requestCount * _n;
                if (_position + 1 >= total)
                {
                    _done = true;
                    _position = -1; // ML.NET convention: -1 before the first row and after the last
                    return false;
                }
                _position++;
                long request = _position / _n;
                _slot = (int)(_position % _n);
                if (_slot == 0 || _gen.RequestIndex != _parent._firstRequest + request)
                    _gen.Generate(_parent._firstRequest + request);
                return true;
            }

            public override ValueGetter<DataViewRowId> GetIdGetter()
                => (ref DataViewRowId id) =>
                {
                    EnsureRow();
                    id = new DataViewRowId((ulong)(_parent._firstRequest * _n + _position), 0);
                };

            private void EnsureRow()
            {
                if (_position < 0 || _position >= _parent._requestCount * _n)
                    throw new InvalidOperationException("The cursor is not on a row: call MoveNext first (and only read while it returns true).");
            }

            public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
            {
                if (column.Index < 0 || column.Index >= _active.Length || !ReferenceEquals(column.Type, Schema[column.Index].Type) && !column.Type.Equals(Schema[column.Index].Type))
                    throw new ArgumentOutOfRangeException(nameof(column), $"Column '{column.Name}' is not a column of this impressions view.");
                if (!_active[column.Index])
                    throw new InvalidOperationException($"Column '{column.Name}' was not requested when the cursor was created.");
                Delegate d = column.Index switch
                {
                    ColRequestId => Scalar(() => (uint)(_gen.RequestIndex + 1)),
                    ColUserId => Scalar(() => _gen.UserId),
                    ColLiveId => Scalar(() => _gen.LiveIds[_slot]),
                    ColTime => Scalar(() => _gen.Time),
                    ColPosition => Scalar(() => _slot + 1),
                    ColIsRandomized => Scalar(() => _gen.IsRandomized),
                    ColStat => (ValueGetter<VBuffer<float>>)((ref VBuffer<float> dst) =>
                    {
                        EnsureRow();
                        int n = RequestGenerator.StatCount;
                        var ed = VBufferEditor.Create(ref dst, n);
                        new ReadOnlySpan<float>(_gen.Stats, _slot * n, n).CopyTo(ed.Values);
                        dst = ed.Commit();
                    }),
                    ColItemSeq => Ids(() => (_gen.ItemSeq, 0, _gen.ItemSeqLength)),
                    ColLiveSeq => Ids(() => (_gen.LiveSeq, 0, _gen.LiveSeqLength)),
                    ColOnSale => Ids(() => (_gen.OnSale, _slot * _parent._world.Options.MaxItemsOnSale, _gen.OnSaleLength[_slot])),
                    ColCore => Ids(() => (_gen.Core, _slot * _parent._world.Options.CoreItemCount, _gen.CoreLength[_slot])),
                    ColClick => Scalar(() => _gen.Click[_slot]),
                    ColBuy => Scalar(() => _gen.Buy[_slot]),
                    ColStay => Scalar(() => _gen.StayTime[_slot]),
                    ColFollow => Scalar(() => _gen.Follow[_slot]),
                    ColComment => Scalar(() => _gen.Comment[_slot]),
                    ColTrueAttraction => Scalar(() => _gen.TrueAttraction[_slot]),
                    ColTrueConversion => Scalar(() => _gen.TrueConversion[_slot]),
                    ColTrueExamination => Scalar(() => _gen.TrueExamination[_slot]),
                    ColTrueRelevance => Scalar(() => _gen.TrueRelevance[_slot]),
                    ColTrueObjectives => (ValueGetter<VBuffer<float>>)((ref VBuffer<float> dst) =>
                    {
                        EnsureRow();
                        int n = RequestGenerator.ObjectiveCount;
                        var ed = VBufferEditor.Create(ref dst, n);
                        new ReadOnlySpan<float>(_gen.TrueObjectives, _slot * n, n).CopyTo(ed.Values);
                        dst = ed.Commit();
                    }),
                    _ => throw new ArgumentOutOfRangeException(nameof(column)),
                };
                if (d is ValueGetter<TValue> typed)
                    return typed;
                throw new InvalidOperationException(
                    $"Column '{column.Name}' has type {Schema[column.Index].Type}; it cannot be read as {typeof(TValue).Name}.");
            }

            private ValueGetter<T> Scalar<T>(Func<T> read) => (ref T value) =>
            {
                EnsureRow();
                value = read();
            };

            private ValueGetter<VBuffer<uint>> Ids(Func<(uint[] data, int offset, int length)> read) => (ref VBuffer<uint> dst) =>
            {
                EnsureRow();
                var (data, offset, length) = read();
                var ed = VBufferEditor.Create(ref dst, length);
                new ReadOnlySpan<uint>(data, offset, length).CopyTo(ed.Values);
                dst = ed.Commit();
            };

            protected override void Dispose(bool disposing)
            {
                _disposed = true;
                base.Dispose(disposing);
            }
        }
    }
}
