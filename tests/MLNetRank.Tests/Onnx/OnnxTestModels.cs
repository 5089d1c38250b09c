using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime.Tensors;
using MLNetRank.Onnx;

namespace MLNetRank.Tests.Onnx
{
    /// <summary>A small two-task network over dense features and a user-id embedding, with a C# reference forward pass.</summary>
    internal sealed class TinyRanker
    {
        public const int Dense = 5, Hidden = 4, Users = 6, EmbDim = 3;
        public float[] W1 = Array.Empty<float>(), B1 = Array.Empty<float>(), Emb = Array.Empty<float>();
        public float[] Wc = Array.Empty<float>(), Wb = Array.Empty<float>();
        public float Bc, Bb;

        public static TinyRanker Create(int seed)
        {
            var rng = new Random(seed);
            return new TinyRanker
            {
                W1 = OrtRunner.Random(rng, (Dense + EmbDim) * Hidden),
                B1 = OrtRunner.Random(rng, Hidden),
                Emb = OrtRunner.Random(rng, Users * EmbDim),
                Wc = OrtRunner.Random(rng, Hidden),
                Wb = OrtRunner.Random(rng, Hidden),
                Bc = 0.1f,
                Bb = -0.2f,
            };
        }

        /// <summary>Graph: inputs Features [-1,5] float, UserId [-1,1] int64 (declared type); outputs ClickScore, ClickProbability, BuyProbability [-1,1].</summary>
        public byte[] Build(TensorElementType idType = TensorElementType.Int64, string features = "Features", string userId = "UserId")
        {
            var g = new OnnxGraphBuilder("tiny");
            var x = g.AddInput(features, new long[] { -1, Dense });
            var id = g.AddInput(userId, idType, new long[] { -1, 1 });
            if (idType != TensorElementType.Int64)
                id = g.Cast(id, TensorElementType.Int64);
            var e = g.Reshape(g.Embedding(id, Emb, Users, EmbDim), new long[] { -1, EmbDim });
            var h = g.Relu(g.Dense(g.Concat(1, new[] { x, e }), W1, B1, Dense + EmbDim, Hidden));
            var click = g.Dense(h, Wc, new[] { Bc }, Hidden, 1, output: "ClickScore");
            g.Sigmoid(click, "ClickProbability");
            g.Sigmoid(g.Dense(h, Wb, new[] { Bb }, Hidden, 1), "BuyProbability");
            g.AddOutput("ClickScore", new long[] { -1, 1 });
            g.AddOutput("ClickProbability", new long[] { -1, 1 });
            g.AddOutput("BuyProbability", new long[] { -1, 1 });
            return g.ToBytes();
        }

        public (float ClickScore, float Click, float Buy) Forward(float[] features, long userId)
        {
            var z = features.Concat(Emb.Skip((int)userId * EmbDim).Take(EmbDim)).ToArray();
            var h = OrtRunner.Dense(z, 1, Dense + EmbDim, W1, B1, Hidden).Select(v => Math.Max(0f, v)).ToArray();
            float c = OrtRunner.Dense(h, 1, Hidden, Wc, new[] { Bc }, 1)[0];
            float b = OrtRunner.Dense(h, 1, Hidden, Wb, new[] { Bb }, 1)[0];
            return (c, (float)(1 / (1 + Math.Exp(-c))), (float)(1 / (1 + Math.Exp(-b))));
        }
    }

    internal sealed class Row
    {
        [VectorType(TinyRanker.Dense)]
        public float[] Features { get; set; } = Array.Empty<float>();

        public uint UserId { get; set; }

        public float Label { get; set; }
    }

    internal static class Rows
    {
        public static List<Row> Make(int n, int seed)
        {
            var rng = new Random(seed);
            return Enumerable.Range(0, n).Select(i => new Row
            {
                Features = OrtRunner.Random(rng, TinyRanker.Dense, 2f),
                UserId = (uint)rng.Next(TinyRanker.Users),
                Label = i % 2,
            }).ToList();
        }

        public static float[] Column(IDataView view, string name)
        {
            var col = view.Schema[name];
            var result = new List<float>();
            using var cursor = view.GetRowCursor(new[] { col });
            if (col.Type is VectorDataViewType)
            {
                var getter = cursor.GetGetter<VBuffer<float>>(col);
                var buffer = default(VBuffer<float>);
                while (cursor.MoveNext())
                {
                    getter(ref buffer);
                    result.AddRange(buffer.DenseValues());
                }
            }
            else
            {
                var getter = cursor.GetGetter<float>(col);
                float v = 0;
                while (cursor.MoveNext())
                {
                    getter(ref v);
                    result.Add(v);
                }
            }
            return result.ToArray();
        }
    }
}

