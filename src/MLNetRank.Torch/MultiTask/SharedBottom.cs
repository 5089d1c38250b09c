using System.Linq;
using MLNetRank.Onnx;
using MLNetRank.Torch.Layers;
using static TorchSharp.torch;

namespace MLNetRank.Torch.MultiTask
{
    internal sealed class SharedBottom : Bottom
    {
        private readonly Mlp net;
        private readonly int _tasks;

        public SharedBottom(int inputSize, int tasks, int[] layers, float dropout) : base("shared_bottom")
        {
            _tasks = tasks;
            net = new Mlp("bottom", inputSize, layers, dropout);
            RegisterComponents();
        }

        public override int OutputSize => net.OutputSize;

        public override Tensor[] forward(Tensor[] x)
        {
            var h = net.forward(x[0]);
            return Enumerable.Repeat(h, _tasks).ToArray();
        }

        public override string[] Export(OnnxGraphBuilder g, string[] x)
        {
            var h = net.Export(g, x[0]);
            return Enumerable.Repeat(h, _tasks).ToArray();
        }
    }
}
