using System;
using Microsoft.ML;
using Microsoft.ML.Runtime;

namespace MLNetRank.Common
{
    /// <summary>
    /// Progress and diagnostics of MLNetRank components on <see cref="MLContext.Log"/> (a channel named
    /// <c>MLNetRank.&lt;Component&gt;</c>), and optionally on a caller's <see cref="IProgress{T}"/>.
    /// Dispose it when the work ends.
    /// </summary>
    internal sealed class RankerLog : IDisposable
    {
        private readonly IChannel _channel;
        private readonly string _component;

        public RankerLog(MLContext context, string component)
        {
            if (context is null)
                throw new ArgumentNullException(nameof(context));
            _component = component;
            _channel = ((IChannelProvider)context).Start("MLNetRank." + component);
        }

        /// <summary>An informational message (Kind = Info).</summary>
        public void Info(string message) => _channel.Info(MessageSensitivity.None, message);

        /// <summary>A detailed message (Kind = Trace).</summary>
        public void Trace(string message) => _channel.Trace(MessageSensitivity.None, message);

        /// <summary>A warning (Kind = Warning).</summary>
        public void Warning(string message) => _channel.Warning(MessageSensitivity.None, message);

        /// <summary>Logs <paramref name="message"/> at Info and reports <paramref name="value"/> (with its <see cref="RankerProgress.Message"/>
        /// and <see cref="RankerProgress.Component"/> set) to <paramref name="progress"/>, if any.</summary>
        public void Progress<T>(IProgress<T>? progress, T value, string message) where T : RankerProgress
        {
            value.Message = message;
            value.Component = _component;
            Info(message);
            progress?.Report(value);
        }

        /// <summary>Logs <paramref name="message"/> at Info and reports a <see cref="RankerProgress"/> of <paramref name="stage"/>
        /// and <paramref name="fraction"/> to <paramref name="progress"/>, if any.</summary>
        public void Progress(IProgress<RankerProgress>? progress, string stage, double? fraction, string message)
            => Progress(progress, new RankerProgress { Stage = stage, Fraction = fraction }, message);

        public void Dispose() => _channel.Dispose();
    }
}
