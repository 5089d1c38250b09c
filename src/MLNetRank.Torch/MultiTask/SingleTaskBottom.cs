using System.Linq;
using MLNetRank.Onnx;
using MLNetRank.Torch.Layers;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNetRank.Torch.MultiTask
{
    internal sealed class SingleTaskBottom : Bottom
    {
        private readonly ModuleList<Mlp> nets = new();

        public SingleTaskBottom(int inputSize, int tasks, int[] layers, float dropout) : base("single_task")
        {
            for (int t = 0; t < tasks; t++)
                nets.Add(new Mlp($"task{t}", inputSize, layers, dropout));
            RegisterComponents();
        }

        public override int OutputSize => nets[0].OutputSize;

        public override Tensor[] forward(Tensor[] x) => nets.Select((n, t) => n.forward(x[t])).ToArray();

        public override string[] Export(OnnxGraphBuilder g, string[] x) => nets.Select((n, t) => n.Export(g, x[t])).ToArray();
    }
}
