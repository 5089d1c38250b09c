using System;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetRank.Graph;

namespace MLNetRank.Benchmarks.Graph
{
    /// <summary>
    /// Saves a fitted metapath2vec transform, then loads the zip in a fresh process (a plain <c>MLContext</c>, no
    /// MLNetRank code called) and checks that every output value is bit-identical.
    /// </summary>
    public sealed class Metapath2VecRoundTripBench : IBench
    {
        /// <inheritdoc />
        public string Name => "metapath2vec-roundtrip";

        /// <inheritdoc />
        public string Description => "save a metapath2vec model, load and score it in a fresh process, compare every output bit";

        private sealed class Row
        {
            public uint UserId { get; set; }
            public uint LiveId { get; set; }
        }

        private static IDataView Rows(MLContext ml) => ml.Data.LoadFromEnumerable(
            Enumerable.Range(0, 300).Select(i => new Row { UserId = (uint)(i * 7 % 450), LiveId = (uint)(i % 250) }).ToList());

        private static string Dump(IDataView scored)
        {
            var u = scored.GetColumn<float[]>("UserEmbedding").ToArray();
            var l = scored.GetColumn<float[]>("LiveEmbedding").ToArray();
            var k = scored.GetColumn<bool>("UserEmbeddingKnown").ToArray();
            return string.Join('\n', Enumerable.Range(0, u.Length).Select(i =>
                string.Join(' ', u[i].Concat(l[i]).Select(x => BitConverter.SingleToInt32Bits(x).ToString(CultureInfo.InvariantCulture))) + " " + k[i]));
        }

        private static readonly Option<string?> Load = BenchOption.Optional<string>("--load", "child process: load this saved zip with plain ML.NET");
        private static readonly Option<string?> Expected = BenchOption.Optional<string>("--expected", "child process: the parent's outputs to compare with");

        /// <inheritdoc />
        public int Run(ParseResult args)
        {
            if (args.GetValue(Load) is string savedZip && args.GetValue(Expected) is string expectedFile)
            {
                // The child: plain ML.NET only.
                var fresh = new MLContext(123);
                var loaded = fresh.Model.Load(savedZip, out _);
                var got = Dump(loaded.Transform(Rows(fresh)));
                bool same = got == File.ReadAllText(expectedFile);
                Console.WriteLine($"child process {Environment.ProcessId}: loaded {loaded.GetType().Name}; outputs identical: {same}");
                return same ? 0 : 1;
            }
            var ml = new MLContext(1);
            var sbm = PlantedSbm.Create(4, 400, 200, 300, 4, 4, 0.8, 2);
            var o = new Metapath2VecEstimator.Options
            {
                Metapaths = new[] { "User-Live-User", "Live-Item-Live" },
                Dimension = 32, Epochs = 2, NumberOfThreads = 2, AddKnownIndicator = true, UnseenEmbedding = UnseenNodeEmbedding.TypeMean, Seed = 1,
            };
            var data = Rows(ml);
            var model = ml.Ranker().Transforms.Metapath2Vec(ml.Data.LoadFromEnumerable(sbm.Edges), o,
                new InputOutputColumnPair("UserEmbedding", "UserId"), new InputOutputColumnPair("LiveEmbedding", "LiveId")).Fit(data);
            var dir = Path.Combine(Path.GetTempPath(), "m2v-roundtrip-" + Guid.NewGuid().ToString("N"));
            Directory.CreateDirectory(dir);
            try
            {
                var zip = Path.Combine(dir, "model.zip");
                var expected = Path.Combine(dir, "expected.txt");
                ml.Model.Save(model, data.Schema, zip);
                File.WriteAllText(expected, Dump(model.Transform(data)));
                var psi = BenchProcess.Self(false, Name, "--load", zip, "--expected", expected);
                using var p = Process.Start(psi)!;
                p.WaitForExit();
                Console.WriteLine($"parent process {Environment.ProcessId}: saved {new FileInfo(zip).Length / 1024} KiB zip; child exit code {p.ExitCode} ({(p.ExitCode == 0 ? "identical" : "MISMATCH")})");
                return p.ExitCode;
            }
            finally
            {
                Directory.Delete(dir, true);
            }
        }
    }
}
