using Akka.Actor;
using Akka.Configuration;

namespace TrainManager.Actors;

/// <summary>The process's default actor system, started on first use, for routines run without one.</summary>
public static class LocalActorSystem
{
    private static readonly Lazy<ActorSystem> Lazy = new(() =>
        ActorSystem.Create("trainmanager-local", ConfigurationFactory.ParseString("""
            akka.loglevel = WARNING
            akka.stdout-loglevel = WARNING
            akka.log-dead-letters = off
            akka.coordinated-shutdown.run-by-clr-shutdown-hook = on
            """)));

    public static ActorSystem Default => Lazy.Value;
}
