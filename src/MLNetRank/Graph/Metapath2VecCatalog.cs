using System;
using MLNetRank.Graph;

namespace Microsoft.ML
{
    /// <summary>metapath2vec on <c>mlContext.Ranker().Transforms</c>.</summary>
    public static class Metapath2VecCatalog
    {
        /// <summary>
        /// Learns metapath2vec (or metapath2vec++) node embeddings on the heterogeneous graph <paramref name="edges"/>
        /// and maps each input id column to a <c>float[Dimension]</c> embedding column.
        /// </summary>
        /// <param name="catalog">The transforms of <c>mlContext.Ranker()</c>.</param>
        /// <param name="edges">The edges table: source id, source type, target id, target type and an optional weight
        /// (column names in <paramref name="options"/>; ids as text or integers; edges are undirected).</param>
        /// <param name="options">Metapaths and training options.</param>
        /// <param name="columns">Output embedding column / input id column pairs, e.g. <c>new InputOutputColumnPair("UserEmbedding", "UserId")</c>.
        /// An input column maps to the node type named like it without "Id" (or per <see cref="Metapath2VecEstimator.Options.ColumnNodeTypes"/>).</param>
        /// <returns>The estimator; its <c>Fit</c> trains the embeddings.</returns>
        /// <example>Runnable: <c>notebooks/03-metapath2vec.ipynb</c> (a Polyglot notebook, executed by the test suite); <c>examples/LiveStreamRanking/RankingPipelines.cs</c> (<c>dotnet run --project examples/LiveStreamRanking</c>).</example>
        public static Metapath2VecEstimator Metapath2Vec(this RankerCatalog.RankerTransforms catalog, IDataView edges, Metapath2VecEstimator.Options options, params InputOutputColumnPair[] columns)
        {
            if (catalog is null)
                throw new ArgumentNullException(nameof(catalog));
            return new Metapath2VecEstimator(catalog.Context, edges, options, columns);
        }

        /// <summary>
        /// Learns metapath2vec node embeddings with default options for the given metapaths and maps
        /// <paramref name="inputColumnName"/> to the embedding column <paramref name="outputColumnName"/>.
        /// </summary>
        /// <param name="catalog">The transforms of <c>mlContext.Ranker()</c>.</param>
        /// <param name="outputColumnName">The embedding column to add.</param>
        /// <param name="edges">The edges table with columns SourceId, SourceType, TargetId, TargetType.</param>
        /// <param name="metapaths">Metapaths such as "User-Live-User".</param>
        /// <param name="inputColumnName">The id column; null = <paramref name="outputColumnName"/>.</param>
        /// <returns>The estimator.</returns>
        /// <example>Runnable: <c>notebooks/03-metapath2vec.ipynb</c> (a Polyglot notebook, executed by the test suite); <c>examples/LiveStreamRanking/RankingPipelines.cs</c> (<c>dotnet run --project examples/LiveStreamRanking</c>).</example>
        public static Metapath2VecEstimator Metapath2Vec(this RankerCatalog.RankerTransforms catalog, string outputColumnName, IDataView edges, string[] metapaths, string? inputColumnName = null)
        {
            if (catalog is null)
                throw new ArgumentNullException(nameof(catalog));
            return new Metapath2VecEstimator(catalog.Context, edges, new Metapath2VecEstimator.Options { Metapaths = metapaths },
                new[] { new InputOutputColumnPair(outputColumnName, inputColumnName ?? outputColumnName) });
        }
    }
}
