using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetRank.Torch.MultiTask;

namespace MLNetRank.Torch.Tests.MultiTask
{
    /// <summary>An impression with known structure: click and conversion share a latent factor of the dense features.</summary>
    public sealed class Impression
    {
        [VectorType(6)] public float[] Features { get; set; } = new float[6];
        public uint UserId { get; set; }
        public uint LiveId { get; set; }
        [VectorType] public uint[] LiveSeq { get; set; } = Array.Empty<uint>();
        [VectorType] public string[] ItemSeq { get; set; } = Array.Empty<string>();
        public int Position { get; set; }
        public bool Click { get; set; }
        public bool Buy { get; set; }
        public float StayTime { get; set; }
        public float TrueCtr { get; set; }
        public float TrueCvr { get; set; }
        public float RowIndex { get; set; }
    }

    internal static class Fixture
    {
        private static float Sigmoid(double x) => (float)(1 / (1 + Math.Exp(-x)));

        /// <summary>
        /// Rows whose click and conversion probabilities both depend on a shared nonlinear factor of the features
        /// (plus a task-specific part), with user/live id effects and a position effect on clicks.
        /// </summary>
        public static List<Impression> Make(int n, int seed, double buyBias = -1.0, double positionEffect = 0.0)
        {
            var rng = new Random(seed);
            var userBias = Enumerable.Range(0, 40).Select(_ => rng.NextDouble() * 2 - 1).ToArray();
            var liveBias = Enumerable.Range(0, 30).Select(_ => rng.NextDouble() * 2 - 1).ToArray();
            var rows = new List<Impression>(n);
            for (int i = 0; i < n; i++)
            {
                var f = Enumerable.Range(0, 6).Select(_ => (float)Normal(rng)).ToArray();
                uint user = (uint)rng.Next(40), live = (uint)rng.Next(30);
                double shared = Math.Tanh(f[0] * f[1]) * 1.5 + 0.8 * f[2];
                double ctrLogit = shared + 0.5 * f[3] + 0.7 * userBias[user] + 0.5 * liveBias[live] - 0.5;
                double cvrLogit = 1.2 * shared - 0.6 * f[4] + 0.5 * liveBias[live] + buyBias;
                int position = rng.Next(1, 6);
                double examined = positionEffect > 0 ? Math.Exp(-positionEffect * (position - 1)) : 1.0;
                float ctr = Sigmoid(ctrLogit), cvr = Sigmoid(cvrLogit);
                bool click = rng.NextDouble() < ctr * examined;
                bool buy = click && rng.NextDouble() < cvr;
                float stay = click ? (float)(Math.Exp(1 + 0.5 * shared + 0.3 * Normal(rng))) : 0f;
                var seq = Enumerable.Range(0, rng.Next(0, 6)).Select(_ => (uint)rng.Next(30)).ToArray();
                var items = Enumerable.Range(0, rng.Next(0, 9)).Select(_ => "item" + rng.Next(50)).ToArray();
                rows.Add(new Impression
                {
                    Features = f, UserId = user, LiveId = live, LiveSeq = seq, ItemSeq = items, Position = position,
                    Click = click, Buy = buy, StayTime = stay, TrueCtr = ctr, TrueCvr = cvr, RowIndex = i,
                });
            }
            return rows;
        }

        private static double Normal(Random r) => Math.Sqrt(-2 * Math.Log(1 - r.NextDouble())) * Math.Cos(2 * Math.PI * r.NextDouble());

        public static IDataView Load(MLContext ml, IEnumerable<Impression> rows)
        {
            var def = SchemaDefinition.Create(typeof(Impression));
            def["Features"].ColumnType = new VectorDataViewType(NumberDataViewType.Single, 6);
            return ml.Data.LoadFromEnumerable(rows, def);
        }

        /// <summary>Dense + categorical (user, live; live also wide) + a sequence sharing the live table; click, ESMM buy, stay time.</summary>
        public static MultiTaskEstimator.Options FullOptions(MultiTaskArchitecture arch = MultiTaskArchitecture.MMoE, int epochs = 2)
        {
            var o = new MultiTaskEstimator.Options
            {
                Architecture = arch,
                ExpertLayers = new[] { 16, 8 },
                TowerLayers = new[] { 8 },
                Experts = 3,
                SharedExperts = 1,
                TaskExperts = 1,
                Levels = 2,
                Epochs = epochs,
                BatchSize = 64,
                ShuffleBufferSize = 200,
                LearningRate = 0.01,
                Seed = 7,
            };
            o.Features.Add(new DenseFeature("Features") { Wide = true });
            o.Features.Add(new CategoricalFeature("UserId", 4));
            o.Features.Add(new CategoricalFeature("LiveId", 4) { Wide = true });
            o.Features.Add(new SequenceFeature("LiveSeq") { SharedEmbeddingWith = "LiveId", MaximumLength = 3 });
            o.Tasks.Add(new TaskSpec("Click", "Click"));
            o.Tasks.Add(new TaskSpec("Buy", "Buy") { ConditionedOn = "Click" });
            o.Tasks.Add(new TaskSpec("Stay", "StayTime", MultiTaskKind.Regression) { LabelTransform = LabelTransform.Log1p, Weight = 0.5f });
            return o;
        }

        public static float[] Column(IDataView view, string name)
        {
            var col = view.Schema[name];
            if (col.Type is VectorDataViewType)
                return view.GetColumn<float[]>(col).Select(v =>
                {
                    if (v.Length != 1)
                        throw new InvalidOperationException($"{name} has {v.Length} values");
                    return v[0];
                }).ToArray();
            return view.GetColumn<float>(col).ToArray();
        }
    }
}
