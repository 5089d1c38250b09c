using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;

namespace LiveStreamRanking
{
    /// <summary>Command-line options of the main example.</summary>
    public sealed class ExampleOptions
    {
        /// <summary>Requests (ranked lists of 10) simulated.</summary>
        public long Requests { get; private set; } = 15_000;
        /// <summary>Users.</summary>
        public int Users { get; private set; } = 10_000;
        /// <summary>Live rooms.</summary>
        public int Lives { get; private set; } = 600;
        /// <summary>Items.</summary>
        public int Items { get; private set; } = 6_000;
        /// <summary>The simulator's item-level interest κ (<c>ItemInterestScale</c>): the behaviour-sequence signal that no
        /// statistic summarises (0 = none).</summary>
        public double ItemInterest { get; private set; } = 1.5;
        /// <summary>Seed of the simulator and the MLContext.</summary>
        public int Seed { get; private set; } = 1;
        /// <summary>Output folder.</summary>
        public string OutputFolder { get; private set; } = Path.Combine("artifacts", "example");
        /// <summary>Stages to run (empty: all).</summary>
        public IReadOnlyList<string> Stages { get; private set; } = Array.Empty<string>();
        /// <summary>No per-epoch progress lines.</summary>
        public bool Quiet { get; private set; }
        /// <summary>Print the help and exit.</summary>
        public bool Help { get; private set; }
        /// <summary>Requests timed per stage for the latency columns.</summary>
        public int LatencyRequests { get; private set; } = 300;
        /// <summary>Seeds of a seed-spread run (<c>--seeds</c>): the whole evolution once per seed, then
        /// <c>seed-spread.md</c>; empty for one run.</summary>
        public IReadOnlyList<int> Seeds { get; private set; } = Array.Empty<int>();
        /// <summary>Folders of earlier runs whose <c>evolution.csv</c> the seed spread reads (<c>--spread</c>); empty: none.</summary>
        public IReadOnlyList<string> SpreadFolders { get; private set; } = Array.Empty<string>();
        /// <summary>A run folder whose <c>evolution.png</c> is redrawn from its <c>evolution.csv</c> (<c>--replot</c>), or null.</summary>
        public string? ReplotFolder { get; private set; }
        /// <summary>Model sizes.</summary>
        public ModelSizes Sizes { get; private set; } = new ModelSizes();

        /// <summary>Parses the arguments; throws <see cref="ArgumentException"/> naming the bad one.</summary>
        public static ExampleOptions Parse(string[] args)
        {
            var a = new ExampleOptions();
            for (int i = 0; i < args.Length; i++)
            {
                string name = args[i];
                string Next() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"{name} needs a value.");
                int Int() => int.TryParse(Next(), NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) ? v : throw new ArgumentException($"{name} needs an integer (was '{args[i]}').");
                switch (name)
                {
                    case "--help": case "-h": case "-?": a.Help = true; break;
                    case "--quiet": case "-q": a.Quiet = true; break;
                    case "--stages":
                        var names = Next().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                        var unknown = names.Where(n => LiveStreamRanking.Stages.Find(n) is null).ToArray();
                        if (unknown.Length > 0)
                            throw new ArgumentException($"--stages: unknown stage(s) {string.Join(", ", unknown)}; the stages are {string.Join(", ", LiveStreamRanking.Stages.All.Select(s => s.Name))}.");
                        a.Stages = names;
                        break;
                    case "--requests": a.Requests = Int(); break;
                    case "--users": a.Users = Int(); break;
                    case "--lives": a.Lives = Int(); break;
                    case "--items": a.Items = Int(); break;
                    case "--seed": a.Seed = Int(); break;
                    case "--seeds":
                        a.Seeds = Next().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                            .Select(x => int.TryParse(x, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) ? v : throw new ArgumentException($"--seeds needs integers (was '{x}').")).Distinct().ToArray();
                        if (a.Seeds.Count < 2)
                            throw new ArgumentException("--seeds needs at least two different seeds.");
                        break;
                    case "--replot": a.ReplotFolder = Next(); break;
                    case "--spread":
                        a.SpreadFolders = Next().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                        if (a.SpreadFolders.Count < 2)
                            throw new ArgumentException("--spread needs at least two run folders.");
                        break;
                    case "--item-interest":
                        a.ItemInterest = double.TryParse(Next(), NumberStyles.Float, CultureInfo.InvariantCulture, out double k) && double.IsFinite(k)
                            ? k : throw new ArgumentException($"{name} needs a number (was '{args[i]}').");
                        break;
                    case "--transformer-layers": a.Sizes = a.Sizes with { TransformerLayers = Int() }; break;
                    case "--out": a.OutputFolder = Next(); break;
                    case "--trees": a.Sizes = a.Sizes with { ScorerTrees = Int() }; break;
                    case "--leaf-trees": a.Sizes = a.Sizes with { LeafTrees = Int() }; break;
                    case "--epochs": a.Sizes = a.Sizes with { Epochs = Int() }; break;
                    case "--batch": a.Sizes = a.Sizes with { BatchSize = Int() }; break;
                    case "--threads": a.Sizes = a.Sizes with { Threads = Int() }; break;
                    case "--latency-requests": a.LatencyRequests = Int(); break;
                    default: throw new ArgumentException($"Unknown argument '{name}'.");
                }
            }
            if (a.Requests < 100) throw new ArgumentException("--requests must be at least 100 (the last 20% are the test period).");
            if (a.Users < 1 || a.Lives < 10 || a.Items < 10) throw new ArgumentException("--users must be >= 1, --lives and --items >= 10.");
            if (a.Sizes.ScorerTrees < 1 || a.Sizes.LeafTrees < 1) throw new ArgumentException("--trees and --leaf-trees must be >= 1.");
            if (a.Sizes.Epochs < 1 || a.Sizes.BatchSize < 1) throw new ArgumentException("--epochs and --batch must be >= 1.");
            if (a.Sizes.TransformerLayers < 1) throw new ArgumentException("--transformer-layers must be >= 1.");
            if (a.Sizes.Threads < 0) throw new ArgumentException("--threads must be >= 0 (0: libtorch's default).");
            if (a.LatencyRequests < 1) throw new ArgumentException("--latency-requests must be >= 1.");
            return a;
        }

        /// <summary>These options for one run of a seed-spread run: seed <paramref name="seed"/>, output in a sub-folder.</summary>
        public ExampleOptions ForSeed(int seed)
        {
            var o = (ExampleOptions)MemberwiseClone();
            o.Seed = seed;
            o.Seeds = Array.Empty<int>();
            o.OutputFolder = Path.Combine(OutputFolder, $"seed-{seed}");
            return o;
        }

        /// <summary>The text of <c>--help</c>: every option and every stage.</summary>
        public static string HelpText()
        {
            var d = new ExampleOptions();
            var sb = new StringBuilder();
            sb.AppendLine("MLNetRank main example: the 1688 live-stream ranker's evolution on simulated traffic with known truth.");
            sb.AppendLine();
            sb.AppendLine("usage: dotnet run -c Release --project examples/LiveStreamRanking -- [options]");
            sb.AppendLine();
            sb.AppendLine("options:");
            sb.AppendLine("  --stages A,B,...        stages to run (default: all); each stage still contains every earlier available stage's part");
            sb.AppendLine("  --quiet, -q             no progress lines (the table, files and checks are unchanged)");
            sb.AppendLine("  --help, -h              this text");
            sb.AppendLine($"  --requests N            simulated requests of 10 positions (default {d.Requests:N0}; >= 100)");
            sb.AppendLine($"  --users N               users (default {d.Users:N0})");
            sb.AppendLine($"  --lives N               live rooms (default {d.Lives:N0})");
            sb.AppendLine($"  --items N               items (default {d.Items:N0})");
            sb.AppendLine($"  --item-interest K       the simulator's item-level interest (ItemInterestScale; the sequence signal no statistic has; 0 = none; default {d.ItemInterest.ToString(CultureInfo.InvariantCulture)})");
            sb.AppendLine($"  --seed N                seed of the simulator and the MLContext (default {d.Seed})");
            sb.AppendLine("  --seeds A,B,...         run the whole evolution once per seed (into DIR/seed-N), then write seed-spread.md: each stage's");
            sb.AppendLine("                          gain over the previous one, paired by seed, against the seed spread");
            sb.AppendLine("  --spread DIR,DIR,...    write seed-spread.md (into --out) from earlier runs' evolution.csv, without training");
            sb.AppendLine("  --replot DIR            redraw DIR/evolution.png from DIR/evolution.csv, without training");
            sb.AppendLine($"  --out DIR               output folder (default {d.OutputFolder})");
            sb.AppendLine($"  --trees N               trees of the V1/V3 GBDT (default {d.Sizes.ScorerTrees})");
            sb.AppendLine($"  --leaf-trees N          trees of the final system's GBDT leaf encoder (default {d.Sizes.LeafTrees})");
            sb.AppendLine($"  --epochs N              network epochs; the best validation epoch is kept (default {d.Sizes.Epochs})");
            sb.AppendLine($"  --transformer-layers N  layers of the V4 live-stream transformer (default {d.Sizes.TransformerLayers}; {d.Sizes.TransformerHeads} heads over {d.Sizes.IdDimension}-dimensional tokens)");
            sb.AppendLine($"  --batch N               network mini-batch (default {d.Sizes.BatchSize})");
            sb.AppendLine("  --threads N             libtorch threads (default 1; 0: libtorch's choice)");
            sb.AppendLine($"  --latency-requests N    requests timed per stage for the scoring p50/p99 (default {d.LatencyRequests})");
            sb.AppendLine();
            sb.AppendLine("stages:");
            foreach (var s in LiveStreamRanking.Stages.All)
                sb.AppendLine($"  {s.Name,-10} {s.Title}{(s.Available ? "" : $"  [skipped: {s.MissingReason}]")}");
            sb.AppendLine();
            sb.AppendLine("outputs (in --out): evolution.md, evolution.csv, evolution.png, training-*.png, calibration.png, position-curve.png,");
            sb.AppendLine("stage-<name>.zip per stage, and final.zip (the last available stage: the served model).");
            return sb.ToString();
        }
    }
}
