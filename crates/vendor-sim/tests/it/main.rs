mod workspace365_env;
