using System.Linq;
using MLNetRank.Onnx;
using MLNetRank.Torch.Layers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNetRank.Torch.MultiTask
{
    /// <summary>PLE: per level, shared and task-specific experts; each task gates over its own and the shared experts, and
    /// (below the last level) a shared gate over all experts feeds the next level's shared experts.</summary>
    internal sealed class PleBottom : Bottom
    {
        private readonly int _tasks, _shared, _specific, _levels;
        private readonly ModuleList<Mlp> shared_experts = new();   // [level * shared + k]
        private readonly ModuleList<Mlp> task_experts = new();     // [(level * tasks + t) * specific + k]
        private readonly ModuleList<Linear> task_gates = new();    // [level * tasks + t]
        private readonly ModuleList<Linear> shared_gates = new();  // [level] for level < levels - 1

        public PleBottom(int inputSize, int tasks, int shared, int specific, int levels, int[] layers, float dropout) : base("ple")
        {
            _tasks = tasks; _shared = shared; _specific = specific; _levels = levels;
            int n = inputSize;
            int outSize = inputSize;
            for (int l = 0; l < levels; l++)
            {
                for (int k = 0; k < shared; k++)
                {
                    var m = new Mlp($"l{l}.shared{k}", n, layers, dropout);
                    outSize = m.OutputSize;
                    shared_experts.Add(m);
                }
                for (int t = 0; t < tasks; t++)
                    for (int k = 0; k < specific; k++)
                    {
                        var m = new Mlp($"l{l}.task{t}.{k}", n, layers, dropout);
                        outSize = m.OutputSize;
                        task_experts.Add(m);
                    }
                for (int t = 0; t < tasks; t++)
                    task_gates.Add(nn.Linear(n, specific + shared));
                if (l < levels - 1)
                    shared_gates.Add(nn.Linear(n, tasks * specific + shared));
                n = outSize;
            }
            OutputSize = outSize;
            RegisterComponents();
        }

        public override int OutputSize { get; }

        public override Tensor[] forward(Tensor[] x)
        {
            var taskIn = Enumerable.Repeat(x[0], _tasks).ToArray();
            var sharedIn = x[0];
            for (int l = 0; l < _levels; l++)
            {
                var se = Enumerable.Range(0, _shared).Select(k => shared_experts[l * _shared + k].forward(sharedIn)).ToArray();
                var te = new Tensor[_tasks][];
                for (int t = 0; t < _tasks; t++)
                    te[t] = Enumerable.Range(0, _specific).Select(k => task_experts[(l * _tasks + t) * _specific + k].forward(taskIn[t])).ToArray();
                var nextTask = new Tensor[_tasks];
                for (int t = 0; t < _tasks; t++)
                    nextTask[t] = Mix(te[t].Concat(se).ToArray(), task_gates[l * _tasks + t].forward(taskIn[t]));
                if (l < _levels - 1)
                    sharedIn = Mix(te.SelectMany(a => a).Concat(se).ToArray(), shared_gates[l].forward(sharedIn));
                taskIn = nextTask;
            }
            return taskIn;
        }

        public override string[] Export(OnnxGraphBuilder g, string[] x)
        {
            var taskIn = Enumerable.Repeat(x[0], _tasks).ToArray();
            var sharedIn = x[0];
            for (int l = 0; l < _levels; l++)
            {
                var se = Enumerable.Range(0, _shared).Select(k => shared_experts[l * _shared + k].Export(g, sharedIn)).ToArray();
                var te = new string[_tasks][];
                for (int t = 0; t < _tasks; t++)
                    te[t] = Enumerable.Range(0, _specific).Select(k => task_experts[(l * _tasks + t) * _specific + k].Export(g, taskIn[t])).ToArray();
                var nextTask = new string[_tasks];
                for (int t = 0; t < _tasks; t++)
                    nextTask[t] = ExportMix(g, te[t].Concat(se).ToArray(), g.Linear(taskIn[t], task_gates[l * _tasks + t]));
                if (l < _levels - 1)
                    sharedIn = ExportMix(g, te.SelectMany(a => a).Concat(se).ToArray(), g.Linear(sharedIn, shared_gates[l]));
                taskIn = nextTask;
            }
            return taskIn;
        }
    }
}
