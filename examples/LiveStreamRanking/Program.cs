using System;

namespace LiveStreamRanking
{
    public static class Program
    {
        public static int Main(string[] args)
        {
            Console.WriteLine("LiveStreamRanking: under construction.");
            return 0;
        }
    }
}
