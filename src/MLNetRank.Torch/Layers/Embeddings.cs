using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MLNetRank.Torch.Layers
{
    internal static class Embeddings
    {
        /// <summary>An embedding table initialised from N(0, 0.05²), the init of every learned id/position table here.</summary>
        public static Embedding Normal(long rows, int dimension)
        {
            var e = nn.Embedding(rows, dimension);
            using (no_grad())
                nn.init.normal_(e.weight!, 0, 0.05);
            return e;
        }
    }
}
