using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNetRank.Tests.Gbdt
{
    /// <summary>Small synthetic data sets for the GBDT tests: a label driven by a feature interaction (XOR of signs) plus noise.</summary>
    internal static class GbdtTestData
    {
        public sealed class Row
        {
            public float[] Features { get; set; } = Array.Empty<float>();
            public bool Label { get; set; }
            public float Target { get; set; }
            public float Weight { get; set; } = 1f;
        }

        public static List<Row> Rows(int n, int features, int seed, double nanRate = 0, double noise = 0.1)
        {
            var rng = new Random(seed);
            var rows = new List<Row>(n);
            for (int i = 0; i < n; i++)
            {
                var x = new float[features];
                for (int j = 0; j < features; j++)
                    x[j] = (float)(rng.NextDouble() * 2 - 1);
                // Interaction: the sign of x0 * x1 decides; x2 adds a main effect.
                double logit = 3.0 * Math.Sign(x[0] * x[1]) + 1.0 * x[2];
                bool label = rng.NextDouble() < 1 / (1 + Math.Exp(-logit)) ^ rng.NextDouble() < noise;
                for (int j = 0; j < features; j++)
                    if (nanRate > 0 && rng.NextDouble() < nanRate)
                        x[j] = float.NaN;
                rows.Add(new Row { Features = x, Label = label, Target = (float)logit, Weight = 1f + (float)rng.NextDouble() });
            }
            return rows;
        }

        public static IDataView Load(MLContext ml, IEnumerable<Row> rows, int features)
        {
            var def = SchemaDefinition.Create(typeof(Row));
            def[nameof(Row.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, features);
            return ml.Data.LoadFromEnumerable(rows.ToList(), def);
        }

        /// <summary>Rows meant to stress the split rule: random values, NaN, +-Inf, exact zeros.</summary>
        public static List<Row> StressRows(int n, int features, int seed)
        {
            var rng = new Random(seed);
            var rows = new List<Row>(n);
            for (int i = 0; i < n; i++)
            {
                var x = new float[features];
                for (int j = 0; j < features; j++)
                {
                    double u = rng.NextDouble();
                    x[j] = u < 0.15 ? float.NaN : u < 0.18 ? float.PositiveInfinity : u < 0.21 ? float.NegativeInfinity : u < 0.25 ? 0f
                        : (float)(rng.NextDouble() * 2.4 - 1.2);
                }
                rows.Add(new Row { Features = x, Label = rng.Next(2) == 0 });
            }
            return rows;
        }

        /// <summary>Reads a column of known-size vectors into arrays.</summary>
        public static List<T[]> ReadVectors<T>(IDataView data, string column)
        {
            var col = data.Schema[column];
            var result = new List<T[]>();
            using var cursor = data.GetRowCursor(new[] { col });
            var getter = cursor.GetGetter<VBuffer<T>>(col);
            var buffer = default(VBuffer<T>);
            while (cursor.MoveNext())
            {
                getter(ref buffer);
                result.Add(buffer.DenseValues().ToArray());
            }
            return result;
        }

        /// <summary>Per-tree leaf index from a one-hot vector over all leaves.</summary>
        public static int[] LeavesFromOneHot(float[] oneHot, IReadOnlyList<int> leafCounts)
        {
            var leaves = new int[leafCounts.Count];
            int offset = 0;
            for (int t = 0; t < leafCounts.Count; t++)
            {
                int hot = -1;
                for (int j = 0; j < leafCounts[t]; j++)
                {
                    if (oneHot[offset + j] != 0)
                    {
                        if (hot >= 0)
                            throw new InvalidOperationException($"tree {t}: two hot leaves");
                        hot = j;
                    }
                }
                leaves[t] = hot;
                offset += leafCounts[t];
            }
            return leaves;
        }
    }
}
