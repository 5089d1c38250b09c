using System.Linq;
using MLNetRank.Onnx;
using MLNetRank.Torch.Layers;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNetRank.Torch.MultiTask
{
    /// <summary>The K + 1 towers of a task with per-position towers (positions 1..K, then K+): <c>[B, K + 1]</c> logits.</summary>
    internal sealed class PositionTowerSet : nn.Module<Tensor, Tensor>
    {
        private readonly ModuleList<Tower> heads = new();

        public PositionTowerSet(string name, int inputSize, int[] layers, float dropoutRate, int count) : base(name)
        {
            for (int k = 0; k < count; k++)
                heads.Add(new Tower($"{name}.{k + 1}", inputSize, layers, dropoutRate));
            RegisterComponents();
        }

        public override Tensor forward(Tensor x) => cat(heads.Select(hd => hd.forward(x)).ToArray(), 1);

        /// <summary>Writes all K + 1 towers; returns the name of their <c>[B, K + 1]</c> logits.</summary>
        public string Export(OnnxGraphBuilder g, string x) => g.Concat(1, heads.Select(hd => hd.Export(g, x)).ToArray());

        /// <summary>Writes tower <paramref name="k"/> (0-based) alone; returns the name of its <c>[B, 1]</c> logit.</summary>
        public string ExportOne(OnnxGraphBuilder g, string x, int k) => heads[k].Export(g, x);
    }
}
