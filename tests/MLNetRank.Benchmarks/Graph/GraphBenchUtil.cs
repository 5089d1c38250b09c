using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using Microsoft.ML;
using MLNetRank.Graph;

namespace MLNetRank.Benchmarks.Graph
{
    /// <summary>An edges row in the simulator's layout.</summary>
    internal sealed class BenchEdge
    {
        public uint SourceId { get; set; }
        public string SourceType { get; set; } = "";
        public uint TargetId { get; set; }
        public string TargetType { get; set; } = "";
        public float Weight { get; set; } = 1f;
    }

    internal sealed class BenchUserRow
    {
        public uint UserId { get; set; }
    }

    /// <summary>Stochastic block model of users, live rooms and items with planted communities.</summary>
    internal sealed class PlantedSbm
    {
        public int[] UserCommunity = Array.Empty<int>();
        public int[] LiveCommunity = Array.Empty<int>();
        public int[] ItemCommunity = Array.Empty<int>();
        public List<BenchEdge> Edges = new();

        public static PlantedSbm Create(int communities, int users, int lives, int items, int livesPerUser, int itemsPerLive, double pIn, int seed)
        {
            var g = new PlantedSbm();
            var rng = new Random(seed);
            g.UserCommunity = Enumerable.Range(0, users).Select(i => i % communities).ToArray();
            g.LiveCommunity = Enumerable.Range(0, lives).Select(i => i % communities).ToArray();
            g.ItemCommunity = Enumerable.Range(0, items).Select(i => i % communities).ToArray();
            // Members of each community, to draw inside/outside quickly.
            for (int u = 0; u < users; u++)
                foreach (var l in Pick(g.UserCommunity[u], lives, livesPerUser))
                    g.Edges.Add(new BenchEdge { SourceType = "User", SourceId = (uint)u, TargetType = "Live", TargetId = (uint)l });
            for (int l = 0; l < lives; l++)
                foreach (var i in Pick(g.LiveCommunity[l], items, itemsPerLive))
                    g.Edges.Add(new BenchEdge { SourceType = "Live", SourceId = (uint)l, TargetType = "Item", TargetId = (uint)i });
            return g;

            IEnumerable<int> Pick(int community, int pool, int k)
            {
                var chosen = new HashSet<int>();
                while (chosen.Count < Math.Min(k, pool))
                {
                    bool inside = rng.NextDouble() < pIn;
                    int j;
                    if (inside)
                        j = community + communities * rng.Next((pool - community + communities - 1) / communities);
                    else
                    {
                        int other = (community + 1 + rng.Next(communities - 1)) % communities;
                        j = other + communities * rng.Next((pool - other + communities - 1) / communities);
                    }
                    chosen.Add(j);
                }
                return chosen;
            }
        }
    }

    internal static class GraphBenchUtil
    {
        public static double Purity(NodeEmbeddings e, Func<string, int> community, int k, int maxQueries = 2000)
        {
            double sum = 0;
            int n = Math.Min(e.Count, maxQueries);
            for (int i = 0; i < n; i++)
            {
                var id = e.Ids[i];
                var nn = e.MostSimilar(id, k);
                sum += nn.Count(x => community(x.Id) == community(id)) / (double)nn.Count;
            }
            return sum / n;
        }

        /// <summary>k-NN purity of vectors given as id -> vector (e.g. read back from gensim).</summary>
        public static double Purity(Dictionary<string, float[]> vectors, Func<string, int> community, int k, int maxQueries = 2000)
        {
            var ids = vectors.Keys.OrderBy(x => x, StringComparer.Ordinal).ToArray();
            var norm = ids.ToDictionary(i => i, i => { var v = vectors[i]; float n = MathF.Sqrt(v.Sum(x => x * x)); return v.Select(x => n > 0 ? x / n : 0).ToArray(); });
            double sum = 0;
            int q = 0;
            foreach (var id in ids.Take(maxQueries))
            {
                var a = norm[id];
                var nn = ids.Where(o => o != id).Select(o => (o, s: Dot(a, norm[o]))).OrderByDescending(x => x.s).Take(k).ToList();
                sum += nn.Count(x => community(x.o) == community(id)) / (double)nn.Count;
                q++;
            }
            return sum / q;

            static float Dot(float[] a, float[] b)
            {
                float s = 0;
                for (int i = 0; i < a.Length; i++)
                    s += a[i] * b[i];
                return s;
            }
        }

        /// <summary>Runs gensim Word2Vec (skip-gram, negative sampling) on a walks file; returns (seconds in train(), words/s, vectors).</summary>
        /// <remarks>
        /// <paramref name="corpusFile"/> true (the default): gensim's fastest mode, <c>corpus_file=</c> (each worker reads its
        /// own part of the file in C, no Python job queue; gensim's documented way to scale with workers); false: the
        /// iterable mode (<c>LineSentence</c>, one Python producer thread feeding the workers). Only <c>train</c> is timed;
        /// the walks were generated (by MLNetRank) before, outside the timing.
        /// </remarks>
        public static (double Seconds, long Words, Dictionary<string, float[]> Vectors, string Version, double CpuSeconds) Gensim(string walksPath, Metapath2VecEstimator.Options o, int workers, bool corpusFile = true)
        {
            var script = Path.Combine(Path.GetTempPath(), $"m2v-gensim-{Guid.NewGuid():N}.py");
            var vecPath = Path.ChangeExtension(script, ".vec");
            File.WriteAllText(script, string.Join('\n', new[]
            {
                "import sys, time, gensim",
                "from gensim.models import Word2Vec",
                "from gensim.models.word2vec import LineSentence",
                "walks, out, dim, window, neg, epochs, workers, alpha, sample = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6]), int(sys.argv[7]), float(sys.argv[8]), float(sys.argv[9])",
                "corpus_file = sys.argv[10] == '1'",
                "m = Word2Vec(vector_size=dim, window=window, sg=1, hs=0, negative=neg, min_count=1, workers=workers, alpha=alpha, min_alpha=alpha*1e-4, sample=sample, seed=1)",
                "if corpus_file:",
                "    m.build_vocab(corpus_file=walks)",
                "    t = time.perf_counter(); c = time.process_time()",
                "    m.train(corpus_file=walks, total_words=m.corpus_total_words, total_examples=m.corpus_count, epochs=epochs)",
                "else:",
                "    sent = LineSentence(walks)",
                "    m.build_vocab(sent)",
                "    t = time.perf_counter(); c = time.process_time()",
                "    m.train(sent, total_examples=m.corpus_count, epochs=epochs)",
                "dt = time.perf_counter() - t; dc = time.process_time() - c",
                "m.wv.save_word2vec_format(out)",
                "print(f'{dt} {m.corpus_total_words * epochs} {gensim.__version__} {dc}')",
            }));
            try
            {
                var psi = PythonPeer.StartInfo();
                foreach (var a in new object[] { script, walksPath, vecPath, o.Dimension, o.WindowSize, o.NegativeSamples, o.Epochs, workers, o.InitialLearningRate, o.SubsamplingThreshold, corpusFile ? 1 : 0 })
                    psi.ArgumentList.Add(Convert.ToString(a, CultureInfo.InvariantCulture)!);
                using var p = Process.Start(psi)!;
                var stdout = p.StandardOutput.ReadToEnd();
                var stderr = p.StandardError.ReadToEnd();
                p.WaitForExit();
                if (p.ExitCode != 0)
                    throw new InvalidOperationException("gensim failed: " + stderr);
                var parts = stdout.Trim().Split('\n').Last().Split(' ');
                var vectors = new Dictionary<string, float[]>();
                foreach (var line in File.ReadLines(vecPath).Skip(1))
                {
                    var f = line.Split(' ');
                    vectors[f[0]] = f.Skip(1).Select(x => float.Parse(x, CultureInfo.InvariantCulture)).ToArray();
                }
                return (double.Parse(parts[0], CultureInfo.InvariantCulture), long.Parse(parts[1], CultureInfo.InvariantCulture), vectors, parts[2],
                    double.Parse(parts[3], CultureInfo.InvariantCulture));
            }
            finally
            {
                File.Delete(script);
                if (File.Exists(vecPath))
                    File.Delete(vecPath);
            }
        }

        /// <summary>The 1/5/15-minute load average (other processes share the cores).</summary>
        public static string LoadAverage() => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

        /// <summary>The CPUs this process may run on (as set by taskset), e.g. "0" or "0-1".</summary>
        public static string Affinity()
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
                if (line.StartsWith("Cpus_allowed_list:", StringComparison.Ordinal))
                    return "CPUs " + line.Split(':')[1].Trim();
            return "n/a";
        }

        public static long PeakRssMb()
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
                if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
                    return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024;
            return -1;
        }
    }
}
