using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNetRank.Simulation
{
    /// <summary>Click model of <see cref="ClickSimulator"/>.</summary>
    public enum ClickModel
    {
        /// <summary>Position-based model: P(click) = examination(position) x attraction(relevance), independently per document.</summary>
        PositionBased,
        /// <summary>Cascade model: the user scans top-down, clicks an examined document with P = attraction(relevance), and after a
        /// click stops with probability <see cref="ClickSimulatorOptions.CascadeStopProbability"/> (1 = the classic cascade model).</summary>
        Cascade,
    }

    /// <summary>Options of <see cref="ClickSimulator.SimulateClicks"/>.</summary>
    public sealed class ClickSimulatorOptions
    {
        /// <summary>The query (group) column: Key&lt;UInt32&gt; or UInt32; the rows of a query must be contiguous. Default "GroupId".</summary>
        public string GroupColumnName { get; set; } = "GroupId";

        /// <summary>The graded relevance column (Single, 0..<see cref="MaxRelevance"/>). Default "Label".</summary>
        public string RelevanceColumnName { get; set; } = "Label";

        /// <summary>Optional Single column with the logging (production) ranker's score: documents are shown by descending score
        /// (ties keep the input order). When null, documents are shown in the input order. Default null.</summary>
        public string? LoggingScoreColumnName { get; set; }

        /// <summary>Highest relevance grade. Default 4.</summary>
        public double MaxRelevance { get; set; } = 4;

        /// <summary>Click noise ε: attraction = ε + (1-ε)·(2^rel - 1)/(2^MaxRelevance - 1), so irrelevant documents get clicked
        /// with probability ε. Default 0.1.</summary>
        public double ClickNoise { get; set; } = 0.1;

        /// <summary>The click model. Default <see cref="ClickModel.PositionBased"/>.</summary>
        public ClickModel Model { get; set; } = ClickModel.PositionBased;

        /// <summary>Position-bias exponent η of the examination curve (1/position)^η (position-based model). Default 1.0.</summary>
        public double PositionBiasExponent { get; set; } = 1.0;

        /// <summary>Optional explicit examination curve (element k = P(examine | position k+1)); positions beyond its end use its
        /// last value. Replaces (1/position)^η. Default null.</summary>
        public IReadOnlyList<double>? ExaminationCurve { get; set; }

        /// <summary>Probability of stopping after a click in the cascade model. Default 1.0.</summary>
        public double CascadeStopProbability { get; set; } = 1.0;

        /// <summary>Number of simulated sessions per query (the data is replayed this many times). Default 1.</summary>
        public int Sessions { get; set; } = 1;

        /// <summary>Share of sessions whose order is a uniform random permutation (marked <c>IsRandomized</c>). Default 0.</summary>
        public double RandomizedShare { get; set; }

        /// <summary>Seed of the clicks and the random orders. Default 42.</summary>
        public int Seed { get; set; } = 42;
    }

    /// <summary>
    /// Simulates position-biased clicks on any learning-to-rank data set with graded relevance (e.g. the LightGBM lambdarank
    /// example loaded by <see cref="Datasets.LambdarankDataset"/>), for debiasing experiments (Joachims et al. 2017; Ai et al. 2018).
    /// </summary>
    public static class ClickSimulator
    {
        /// <summary>
        /// Returns the input rows, replayed <see cref="ClickSimulatorOptions.Sessions"/> times (session by session, in input
        /// order), with added columns <c>Session</c> (Int32, 0-based), <c>Position</c> (Int32, 1-based rank of the document in
        /// the shown list), <c>IsRandomized</c> (Boolean), <c>Click</c> (Boolean), <c>TrueAttraction</c> (Single) and
        /// <c>TrueExamination</c> (Single: the curve value for the position-based model; 1 or 0, whether the user reached the
        /// document, for the cascade model). Input columns with these names are hidden. Clicks are computed once, eagerly,
        /// from the group, relevance and optional logging-score columns (O(rows x sessions) memory); the other input columns stream.
        /// </summary>
        /// <param name="mlContext">The ML.NET context (its log receives a summary line).</param>
        /// <param name="data">Ranking data with contiguous query groups.</param>
        /// <param name="options">The click model and its parameters.</param>
        /// <exception cref="ArgumentOutOfRangeException">A missing column or a column of the wrong type (named in the message), or an invalid option.</exception>
        /// <exception cref="InvalidOperationException">A non-contiguous query, or a relevance outside 0..MaxRelevance (row named).</exception>
        public static IDataView SimulateClicks(MLContext mlContext, IDataView data, ClickSimulatorOptions options)
        {
            if (mlContext is null)
                throw new ArgumentNullException(nameof(mlContext));
            if (data is null)
                throw new ArgumentNullException(nameof(data));
            if (options is null)
                throw new ArgumentNullException(nameof(options));
            Validate(options);
            var schema = data.Schema;
            var gCol = Column(schema, options.GroupColumnName, "group", "Key<UInt32> or UInt32",
                t => t is KeyDataViewType k && k.RawType == typeof(uint) || t == NumberDataViewType.UInt32);
            var rCol = Column(schema, options.RelevanceColumnName, "relevance", "Single", t => t == NumberDataViewType.Single);
            DataViewSchema.Column? sCol = options.LoggingScoreColumnName is null ? null
                : Column(schema, options.LoggingScoreColumnName, "logging score", "Single", t => t == NumberDataViewType.Single);

            // pass 1: groups, relevance, scores
            var groups = new List<int>(); // start offsets
            var rel = new List<float>();
            var score = new List<float>();
            var needed = new List<DataViewSchema.Column> { gCol, rCol };
            if (sCol.HasValue)
                needed.Add(sCol.Value);
            using (var c = data.GetRowCursor(needed))
            {
                var gg = c.GetGetter<uint>(gCol);
                var gr = c.GetGetter<float>(rCol);
                var gs = sCol.HasValue ? c.GetGetter<float>(sCol.Value) : null;
                var seen = new HashSet<uint>();
                uint g = 0, prev = 0;
                float r = 0, s = 0;
                long row = 0;
                while (c.MoveNext())
                {
                    gg(ref g);
                    gr(ref r);
                    if (!(r >= 0 && r <= options.MaxRelevance))
                        throw new InvalidOperationException($"Row {row}: relevance column '{options.RelevanceColumnName}' has {r}; expected a value in [0, {options.MaxRelevance}] (MaxRelevance).");
                    if (row == 0 || g != prev)
                    {
                        if (!seen.Add(g))
                            throw new InvalidOperationException($"Row {row}: query {g} of column '{options.GroupColumnName}' appears again after other queries; the rows of a query must be contiguous.");
                        groups.Add((int)row);
                        prev = g;
                    }
                    rel.Add(r);
                    if (gs is not null)
                    {
                        gs(ref s);
                        score.Add(float.IsNaN(s) ? float.NegativeInfinity : s);
                    }
                    else
                        score.Add(-row);
                    row++;
                }
            }
            int n = rel.Count;
            groups.Add(n);

            // clicks per session
            int S = options.Sessions;
            var position = new int[S * n];
            var click = new bool[S * n];
            var attr = new float[n];
            var exam = new float[S * n];
            var randomized = new bool[S * n];
            double denom = Math.Pow(2, options.MaxRelevance) - 1;
            for (int i = 0; i < n; i++)
                attr[i] = (float)(options.ClickNoise + (1 - options.ClickNoise) * (Math.Pow(2, rel[i]) - 1) / denom);
            int maxGroup = 0;
            for (int q = 0; q + 1 < groups.Count; q++)
                maxGroup = Math.Max(maxGroup, groups[q + 1] - groups[q]);
            var order = new int[maxGroup];
            long clicks = 0;
            for (int s = 0; s < S; s++)
                for (int q = 0; q + 1 < groups.Count; q++)
                {
                    int start = groups[q], size = groups[q + 1] - start;
                    var rng = SimRandom.Create(options.Seed, 11, (ulong)q, (ulong)s);
                    bool isRandom = rng.NextDouble() < options.RandomizedShare;
                    for (int k = 0; k < size; k++)
                        order[k] = start + k;
                    if (isRandom)
                        for (int k = size - 1; k > 0; k--)
                        {
                            int j = rng.Next(k + 1);
                            (order[k], order[j]) = (order[j], order[k]);
                        }
                    else
                        Array.Sort(order, 0, size, Comparer<int>.Create((a, b) => score[b].CompareTo(score[a]) is var cmp && cmp != 0 ? cmp : a.CompareTo(b)));
                    bool scanning = true;
                    for (int p = 0; p < size; p++)
                    {
                        int i = order[p];
                        int o = s * n + i;
                        position[o] = p + 1;
                        randomized[o] = isRandom;
                        double u = rng.NextDouble(), v = rng.NextDouble();
                        if (options.Model == ClickModel.PositionBased)
                        {
                            double e = Examination(options, p + 1);
                            exam[o] = (float)e;
                            click[o] = u < e * attr[i];
                        }
                        else
                        {
                            exam[o] = scanning ? 1f : 0f;
                            click[o] = scanning && u < attr[i];
                            if (click[o] && v < options.CascadeStopProbability)
                                scanning = false;
                        }
                        if (click[o])
                            clicks++;
                    }
                }
            SimulationLog.Info(mlContext, $"Click simulation ({options.Model}): {groups.Count - 1} queries x {S} sessions, {n * (long)S} rows, {clicks} clicks.");
            return new ClickView(data, n, S, position, click, attr, exam, randomized);
        }

        private static double Examination(ClickSimulatorOptions o, int position)
        {
            if (o.ExaminationCurve is { Count: > 0 } c)
                return c[Math.Min(position, c.Count) - 1];
            return Math.Pow(1.0 / position, o.PositionBiasExponent);
        }

        private static void Validate(ClickSimulatorOptions o)
        {
            if (o.Sessions < 1)
                throw new ArgumentOutOfRangeException(nameof(o.Sessions), o.Sessions, "Sessions must be at least 1.");
            if (!(o.MaxRelevance > 0) || !double.IsFinite(o.MaxRelevance))
                throw new ArgumentOutOfRangeException(nameof(o.MaxRelevance), o.MaxRelevance, "MaxRelevance must be a positive finite number.");
            if (!(o.ClickNoise >= 0 && o.ClickNoise <= 1))
                throw new ArgumentOutOfRangeException(nameof(o.ClickNoise), o.ClickNoise, "ClickNoise must be in [0, 1].");
            if (!(o.RandomizedShare >= 0 && o.RandomizedShare <= 1))
                throw new ArgumentOutOfRangeException(nameof(o.RandomizedShare), o.RandomizedShare, "RandomizedShare must be in [0, 1].");
            if (!(o.CascadeStopProbability >= 0 && o.CascadeStopProbability <= 1))
                throw new ArgumentOutOfRangeException(nameof(o.CascadeStopProbability), o.CascadeStopProbability, "CascadeStopProbability must be in [0, 1].");
            if (!(o.PositionBiasExponent >= 0) || !double.IsFinite(o.PositionBiasExponent))
                throw new ArgumentOutOfRangeException(nameof(o.PositionBiasExponent), o.PositionBiasExponent, "PositionBiasExponent must be a non-negative finite number.");
            if (o.ExaminationCurve is not null)
                for (int i = 0; i < o.ExaminationCurve.Count; i++)
                    if (!(o.ExaminationCurve[i] > 0 && o.ExaminationCurve[i] <= 1))
                        throw new ArgumentOutOfRangeException(nameof(o.ExaminationCurve), o.ExaminationCurve[i], $"ExaminationCurve value for position {i + 1} must be in (0, 1].");
        }

        private static DataViewSchema.Column Column(DataViewSchema schema, string? name, string role, string expected, Func<DataViewType, bool> accept)
        {
            if (string.IsNullOrEmpty(name))
                throw new ArgumentOutOfRangeException(role, $"The {role} column name must be given.");
            var col = schema.GetColumnOrNull(name);
            if (!col.HasValue)
                throw new ArgumentOutOfRangeException(name, $"The {role} column '{name}' was not found in the input schema; expected {expected}. Columns present: {string.Join(", ", schema.Where(c => !c.IsHidden).Select(c => c.Name))}.");
            if (!accept(col.Value.Type))
                throw new ArgumentOutOfRangeException(name, $"The {role} column '{name}' has type {col.Value.Type}; expected {expected}.");
            return col.Value;
        }

        /// <summary>The input replayed per session, with the simulated columns appended.</summary>
        private sealed class ClickView : IDataView
        {
            private readonly IDataView _input;
            private readonly int _n, _sessions, _inputCount;
            private readonly int[] _position;
            private readonly bool[] _click, _randomized;
            private readonly float[] _attr, _exam;

            public ClickView(IDataView input, int n, int sessions, int[] position, bool[] click, float[] attr, float[] exam, bool[] randomized)
            {
                _input = input;
                _n = n;
                _sessions = sessions;
                _position = position;
                _click = click;
                _attr = attr;
                _exam = exam;
                _randomized = randomized;
                _inputCount = input.Schema.Count;
                var b = new DataViewSchema.Builder();
                b.AddColumns(input.Schema);
                b.AddColumn("Session", NumberDataViewType.Int32);
                b.AddColumn("Position", NumberDataViewType.Int32);
                b.AddColumn("IsRandomized", BooleanDataViewType.Instance);
                b.AddColumn("Click", BooleanDataViewType.Instance);
                b.AddColumn("TrueAttraction", NumberDataViewType.Single);
                b.AddColumn("TrueExamination", NumberDataViewType.Single);
                Schema = b.ToSchema();
            }

            public bool CanShuffle => false;
            public DataViewSchema Schema { get; }
            public long? GetRowCount() => (long)_n * _sessions;

            public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) => new Cursor(this, columnsNeeded);

            public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null)
                => new[] { GetRowCursor(columnsNeeded, rand) };

            private sealed class Cursor : DataViewRowCursor
            {
                private readonly ClickView _v;
                private readonly bool[] _active;
                private readonly DataViewSchema.Column[] _inputNeeded;
                private DataViewRowCursor? _inner;
                private readonly Delegate?[] _innerGetters;
                private int _session = -1, _row = -1;
                private long _position = -1;

                public Cursor(ClickView v, IEnumerable<DataViewSchema.Column> needed)
                {
                    _v = v;
                    _active = new bool[v.Schema.Count];
                    foreach (var c in needed)
                        _active[c.Index] = true;
                    _inputNeeded = Enumerable.Range(0, v._inputCount).Where(i => _active[i]).Select(i => v._input.Schema[i]).ToArray();
                    _innerGetters = new Delegate?[v._inputCount];
                }

                public override DataViewSchema Schema => _v.Schema;
                public override long Position => _position;
                public override long Batch => 0;
                public override bool IsColumnActive(DataViewSchema.Column column) => _active[column.Index];

                public override bool MoveNext()
                {
                    while (true)
                    {
                        if (_inner is not null && _inner.MoveNext())
                        {
                            _row++;
                            if (_row >= _v._n)
                                throw new InvalidOperationException("The input data has more rows than when the clicks were simulated.");
                            _position++;
                            return true;
                        }
                        _inner?.Dispose();
                        _inner = null;
                        if (_session + 1 >= _v._sessions)
                        {
                            _position = -1;
                            _session = _v._sessions;
                            return false;
                        }
                        _session++;
                        _row = -1;
                        _inner = _v._input.GetRowCursor(_inputNeeded);
                        Array.Clear(_innerGetters);
                    }
                }

                public override ValueGetter<DataViewRowId> GetIdGetter()
                    => (ref DataViewRowId id) => id = new DataViewRowId((ulong)_position, 0);

                private int Index => _session * _v._n + _row;

                public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
                {
                    if (!_active[column.Index])
                        throw new InvalidOperationException($"Column '{column.Name}' was not requested when the cursor was created.");
                    int k = column.Index;
                    if (k < _v._inputCount)
                    {
                        var inputColumn = _v._input.Schema[k];
                        return (ref TValue value) =>
                        {
                            var g = (ValueGetter<TValue>)(_innerGetters[k] ??= _inner!.GetGetter<TValue>(inputColumn));
                            g(ref value);
                        };
                    }
                    Delegate d = (k - _v._inputCount) switch
                    {
                        0 => (ValueGetter<int>)((ref int x) => x = _session),
                        1 => (ValueGetter<int>)((ref int x) => x = _v._position[Index]),
                        2 => (ValueGetter<bool>)((ref bool x) => x = _v._randomized[Index]),
                        3 => (ValueGetter<bool>)((ref bool x) => x = _v._click[Index]),
                        4 => (ValueGetter<float>)((ref float x) => x = _v._attr[_row]),
                        _ => (ValueGetter<float>)((ref float x) => x = _v._exam[Index]),
                    };
                    return d as ValueGetter<TValue> ?? throw new InvalidOperationException($"Column '{column.Name}' has type {column.Type}; it cannot be read as {typeof(TValue).Name}.");
                }

                protected override void Dispose(bool disposing)
                {
                    if (disposing)
                        _inner?.Dispose();
                    base.Dispose(disposing);
                }
            }
        }
    }
}
