using MLNetRank.Onnx;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNetRank.Torch.Layers
{
    /// <summary>An MLP followed by a single output unit: a task tower (or a bias tower).</summary>
    internal sealed class Tower : nn.Module<Tensor, Tensor>
    {
        private readonly Mlp hidden;
        private readonly Linear output;

        public Tower(string name, int inputSize, int[] layers, float dropoutRate) : base(name)
        {
            hidden = new Mlp(name + ".hidden", inputSize, layers, dropoutRate);
            output = nn.Linear(hidden.OutputSize, 1);
            RegisterComponents();
        }

        public override Tensor forward(Tensor x) => output.forward(hidden.forward(x));

        /// <summary>Writes the tower; returns the name of its <c>[B, 1]</c> logit.</summary>
        public string Export(OnnxGraphBuilder g, string x) => g.Linear(hidden.Export(g, x), output);
    }
}
