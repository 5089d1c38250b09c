using Microsoft.ML;
using Microsoft.ML.Runtime;

namespace MLNetRank.Simulation
{
    /// <summary>Messages of the simulator and the loaders on <see cref="MLContext.Log"/> (channel <c>MLNetRank.Simulation</c>).</summary>
    internal static class SimulationLog
    {
        public static void Info(MLContext? context, string message)
        {
            if (context is null)
                return;
            using var channel = ((IChannelProvider)context).Start("MLNetRank.Simulation");
            channel.Info(MessageSensitivity.None, message);
        }
    }
}
