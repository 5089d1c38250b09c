namespace MLNetRank
{
    /// <summary>
    /// The one progress payload of MLNetRank's estimators: every <c>Options.Progress</c> takes an
    /// <see cref="System.IProgress{T}"/> of this type or of a component's subclass that adds its own figures
    /// (<c>Metapath2VecProgress</c>, <c>MultiTaskProgress</c>, <c>ObjectiveEnsembleProgress</c>). Because
    /// <see cref="System.IProgress{T}"/> is contravariant, one <c>IProgress&lt;RankerProgress&gt;</c> can be given to every
    /// estimator. The same <see cref="Message"/> goes to <c>MLContext.Log</c> (channel <c>MLNetRank.&lt;Component&gt;</c>).
    /// </summary>
    public class RankerProgress
    {
        /// <summary>The component reporting: <c>Gbdt</c>, <c>Metapath2Vec</c>, <c>Debiasing</c>, <c>MultiTask</c>, <c>ObjectiveEnsemble</c>
        /// (the name of its <c>MLContext.Log</c> channel after <c>MLNetRank.</c>).</summary>
        public string Component { get; internal set; } = "";

        /// <summary>The stage of the fit, in the component's words (e.g. <c>"training trees"</c>, <c>"walks"</c>, <c>"epoch"</c>).</summary>
        public string Stage { get; init; } = "";

        /// <summary>The part of the whole fit done, from 0 to 1, or null where the component cannot tell (e.g. while a GBDT is
        /// trained by ML.NET).</summary>
        public double? Fraction { get; init; }

        /// <summary>The line also written to <c>MLContext.Log</c>.</summary>
        public string Message { get; internal set; } = "";

        /// <summary>The message.</summary>
        public override string ToString() => Message;
    }
}
