using MLNetRank.Onnx;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNetRank.Torch.Layers
{
    /// <summary>A ReLU MLP (dropout after each hidden layer in training).</summary>
    internal sealed class Mlp : nn.Module<Tensor, Tensor>
    {
        private readonly ModuleList<Linear> layers = new();
        private readonly Dropout? dropout;

        public Mlp(string name, int inputSize, int[] hidden, float dropoutRate) : base(name)
        {
            int n = inputSize;
            foreach (var h in hidden)
            {
                layers.Add(nn.Linear(n, h));
                n = h;
            }
            OutputSize = n;
            if (dropoutRate > 0)
                dropout = nn.Dropout(dropoutRate);
            RegisterComponents();
        }

        public int OutputSize { get; }

        public override Tensor forward(Tensor x)
        {
            foreach (var l in layers)
            {
                x = nn.functional.relu(l.forward(x));
                if (dropout is not null)
                    x = dropout.forward(x);
            }
            return x;
        }

        /// <summary>Writes the MLP (dropout is the identity at serving); returns the output's name.</summary>
        public string Export(OnnxGraphBuilder g, string x)
        {
            foreach (var l in layers)
                x = g.Relu(g.Linear(x, l));
            return x;
        }
    }
}
